import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { RAISE_AND_EXEC } from "../limits.ts";

/**
 * Starts `stampede bench --serve-ceiling` as a process of its own (a server
 * sharing the bench's event loop would measure nothing), on a free port,
 * with its open-file limit raised like the generator's.
 */
const BIN = stampedeBin();

/** bin/stampede.js of this package: the nearest one above this module, from the sources or from dist/. */
function stampedeBin(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir))
    if (existsSync(join(dir, "bin/stampede.js"))) return join(dir, "bin/stampede.js");
  throw new Error("bin/stampede.js not found above bench/engine/");
}

export interface CeilingProcess {
  url: string;
  stop(): Promise<void>;
}

export async function spawnCeiling(filesNeeded: number): Promise<CeilingProcess> {
  const child: ChildProcess = spawn(
    "/bin/sh",
    [
      "-c",
      RAISE_AND_EXEC,
      "stampede-ceiling",
      String(filesNeeded),
      process.execPath,
      BIN,
      "bench",
      "--serve-ceiling",
    ],
    { env: { ...process.env, PORT: "0", LOG_LEVEL: "warn" }, stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (output += d));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (output += d));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the ceiling server did not start:\n${output}`)), 20_000);
    const look = () => {
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.on("data", look);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the ceiling server exited (${code}):\n${output}`));
    });
  });
  return {
    url,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
