import { mkdir } from "node:fs/promises";
import type { Config } from "../config/config.ts";
import { embeddedAdminToken } from "./admin-token.ts";
import { startupError } from "./startup-error.ts";

/**
 * What `stampede start` does before anything is written under DATA_DIR:
 * every file the process creates from now on is its owner's only, DATA_DIR
 * is created 0700, and the admin token is known (ADMIN_TOKEN, else the one
 * stored there, else a new one, reported as `createdToken` to print once).
 *
 * Files private by umask rather than a mode at each place that creates one:
 * the ledger's -wal and -shm files are created by SQLite itself, the
 * journals' segments, the task store and the writer thread's connection by
 * several adapters; one umask covers them all, and the ones added later.
 * The embedded process writes no file meant for anyone else.
 */
export async function prepareDataDir(
  config: Config,
): Promise<{ config: Config & { ADMIN_TOKEN: string }; createdToken: boolean }> {
  const dir = await privateDataDir(config.DATA_DIR);
  if (config.ADMIN_TOKEN !== undefined)
    return { config: { ...config, ADMIN_TOKEN: config.ADMIN_TOKEN }, createdToken: false };
  try {
    const stored = await embeddedAdminToken(dir);
    return { config: { ...config, ADMIN_TOKEN: stored.token }, createdToken: stored.created };
  } catch (error) {
    throw startupError("DATA_DIR", `read or store the admin token in ${dir}`, error);
  }
}

/** Files created from now on are their owner's only; `dir` exists, created 0700 if it did not. */
export async function privateDataDir(dir: string): Promise<string> {
  process.umask(0o077);
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw startupError("DATA_DIR", `create ${dir}`, error);
  }
  return dir;
}
