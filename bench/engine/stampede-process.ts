/**
 * Starting a `stampede <command>` as a process of its own and stopping it:
 * the ceiling server of `stampede bench --ceiling`, and every server and
 * worker the scenarios of bench/scenarios/ measure (bench/harness/processes.ts).
 * Each goes through the shell prelude that raises its open-file limit (a
 * server accepting 10,000 connections needs 10,000 descriptors, and Node
 * cannot raise its own), listens on a free port (PORT=0), and is found ready
 * by the "listening on <url>" line every stampede server prints.
 */

import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { withoutSettings } from "../../src/config/config.ts";
import { RAISE_AND_EXEC } from "./limits.ts";

export const STAMPEDE_BIN = findBin();

/** bin/stampede.js of this package: the nearest one above this module, from the sources or from dist/. */
function findBin(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir))
    if (existsSync(join(dir, "bin/stampede.js"))) return join(dir, "bin/stampede.js");
  throw new Error("bin/stampede.js not found above bench/engine/");
}

/** The URL a stampede process says it listens on, once it has said so. */
export function listeningUrl(output: string): string | undefined {
  return /listening on (http:\/\/\S+)/.exec(output)?.[1];
}

export interface StampedeProcessOptions {
  name: string;
  /** `stampede` arguments, e.g. ["start"] or ["bench", "--serve-ceiling"]. */
  args: string[];
  /** Open files to raise the limit to before exec. */
  openFiles: number;
  env?: Record<string, string>;
  nodeFlags?: string[];
  cwd?: string;
  /** Wait for "listening on <url>" (servers), or not (workers answer later). */
  waitForUrl?: boolean;
  startTimeoutMs?: number;
  /** SIGKILL when SIGTERM has not stopped it within this long. */
  stopTimeoutMs?: number;
}

export interface StampedeProcess {
  name: string;
  pid: number;
  /** Set once it listens (at start when waitForUrl). */
  url?: string;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  running(): boolean;
  stop(): Promise<void>;
}

export async function startStampede(options: StampedeProcessOptions): Promise<StampedeProcess> {
  const child: ChildProcess = spawn(
    "/bin/sh",
    [
      "-c",
      RAISE_AND_EXEC,
      options.name,
      String(options.openFiles),
      process.execPath,
      ...(options.nodeFlags ?? []),
      STAMPEDE_BIN,
      ...options.args,
    ],
    {
      ...(options.cwd ? { cwd: options.cwd } : {}),
      // Only the settings given: not the REDIS_URL or KAFKA_BROKERS exported for the harness itself.
      env: { ...withoutSettings(process.env), PORT: "0", LOG_LEVEL: "warn", ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (output += d));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (output += d));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const running = () => child.exitCode === null && child.signalCode === null;
  const proc: StampedeProcess = {
    name: options.name,
    pid: child.pid!,
    output: () => output,
    running,
    async stop() {
      if (!running()) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), options.stopTimeoutMs ?? 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
  if (options.waitForUrl === false) return proc;
  proc.url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      void proc.stop();
      reject(new Error(`${options.name} did not start in time:\n${output}`));
    }, options.startTimeoutMs ?? 30_000);
    child.stdout!.on("data", () => {
      const url = listeningUrl(output);
      if (url) {
        clearTimeout(timer);
        resolve(url);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${options.name} exited (${code}) before listening:\n${output}`));
    });
  });
  return proc;
}
