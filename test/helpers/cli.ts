import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";

export const STAMPEDE_BIN = fileURLToPath(new URL("../../bin/stampede.js", import.meta.url));

/**
 * Runs `stampede <args>` to its exit, as an operator would, with this
 * process's environment minus the settings that pick a mode (ADMIN_TOKEN,
 * REDIS_URL, DATABASE_URL, QUEUE), plus `env`.
 */
export async function runStampede(
  args: string[],
  env: Record<string, string | undefined>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const clean: Record<string, string | undefined> = { ...process.env };
  for (const name of ["ADMIN_TOKEN", "REDIS_URL", "DATABASE_URL", "QUEUE"]) delete clean[name];
  const child = spawn(process.execPath, [STAMPEDE_BIN, ...args], {
    env: { ...clean, PORT: "0", LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const [code] = (await once(child, "exit")) as [number];
  return { code, stdout, stderr };
}
