import { readFileSync } from "node:fs";

/**
 * stampede's version, from its package.json: the nearest one above this
 * module named "stampede" (src/cli/ in a checkout, dist/.../cli/ once built,
 * whatever the build's layout).
 */
export function version(): string {
  let dir = new URL("./", import.meta.url);
  for (let depth = 0; depth < 6; depth++) {
    dir = new URL("../", dir);
    try {
      const pkg = JSON.parse(readFileSync(new URL("package.json", dir), "utf8")) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === "stampede" && pkg.version) return pkg.version;
    } catch {
      // No package.json at this level: look one higher.
    }
  }
  return "unknown";
}
