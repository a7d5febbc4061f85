import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { tempDir } from "../helpers/tmp.ts";

/**
 * stampede/client runs in browsers: it type-checks with the DOM's library and
 * without Node's types, so it uses no Node API. The one shim: the shared error
 * catalogue's module also holds the server's StampedeError, which sets V8's
 * Error.stackTraceLimit (harmless elsewhere; the client never builds one).
 */
const ROOT = fileURLToPath(new URL("../../", import.meta.url));

test("src/client type-checks for a browser (DOM library, no Node types)", (t) => {
  const dir = tempDir(t, "stampede-browser-types-");
  writeFileSync(join(dir, "shim.d.ts"), "interface ErrorConstructor { stackTraceLimit: number }\n");
  writeFileSync(
    join(dir, "tsconfig.json"),
    JSON.stringify({
      extends: join(ROOT, "tsconfig.json"),
      compilerOptions: { lib: ["es2024", "dom", "dom.iterable"], types: [], noEmit: true },
      include: [],
      files: [join(dir, "shim.d.ts"), join(ROOT, "src/client/index.ts")],
    }),
  );
  execFileSync(process.execPath, [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", dir], {
    stdio: "pipe",
  });
});
