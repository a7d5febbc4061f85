import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

/**
 * Embedded mode's admin token when ADMIN_TOKEN is unset: generated on first
 * start, stored under DATA_DIR readable by its owner only, and reported as
 * `created` so the caller prints it once.
 */
export async function embeddedAdminToken(dataDir: string): Promise<{ token: string; created: boolean }> {
  const path = join(dataDir, "admin-token");
  try {
    const token = (await readFile(path, "utf8")).trim();
    if (token.length >= 16) return { token, created: false };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  await mkdir(dataDir, { recursive: true });
  const token = randomBytes(24).toString("base64url");
  await writeFile(path, `${token}\n`, { mode: 0o600, flag: "w" });
  return { token, created: true };
}
