import { execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { withoutSettings } from "../../src/config/config.ts";

/**
 * Running the `stampede` command as an operator would, to its exit: for
 * tests of what it prints and its exit status (settings refused, start
 * failures, doctor). Nothing here starts a server that keeps running; that is
 * server-process.ts.
 */
export const STAMPEDE_BIN = fileURLToPath(new URL("../../bin/stampede.js", import.meta.url));

export interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `stampede <args>` to its exit with only the settings in `env` (the
 * test's own environment minus every stampede setting), e.g. to check that
 * a start failure is one line and a non-zero status.
 */
export async function runCli(
  args: string[],
  env: Record<string, string | undefined> = {},
  options: {
    timeoutMs?: number /** Run as this user (a root test runner checking permissions). */;
    as?: User;
  } = {},
): Promise<CliRun> {
  const child = spawn(process.execPath, [STAMPEDE_BIN, ...args], {
    env: { ...withoutSettings(process.env), PORT: "0", LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
    timeout: options.timeoutMs ?? 60_000,
    ...options.as,
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const [status] = (await once(child, "exit")) as [number | null];
  return { status, stdout, stderr };
}

export interface User {
  uid: number;
  gid: number;
}

/**
 * Someone a permission check applies to: the test runner itself, or, when it
 * runs as root (which file modes do not stop), the `nobody` user.
 */
export function unprivilegedUser(): User | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync("id", [flag, "nobody"], { encoding: "utf8" }).trim());
  return { uid: id("-u"), gid: id("-g") };
}
