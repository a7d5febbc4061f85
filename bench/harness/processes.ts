/**
 * The processes a scenario runs: the servers and workers it measures (started
 * as `stampede bench --ceiling` starts its ceiling, bench/engine/stampede-process.ts),
 * each with its temporary data directory removed on stop and all of them
 * killed when the script ends or is interrupted, and `stampede bench` itself.
 */

import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { BenchReport } from "../engine/report/report.ts";
import { STAMPEDE_BIN, type StampedeProcess, startStampede } from "../engine/stampede-process.ts";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const OPEN_FILES = 65_536;

export interface Proc extends StampedeProcess {
  /** Peak resident set size so far (VmHWM), in bytes; undefined once exited or off Linux. */
  peakRss(): number | undefined;
}

/** A /proc/<pid>/status size in bytes (VmRSS now, VmHWM the peak); undefined once gone or off Linux. */
export function statusBytes(pid: number, field: "VmRSS" | "VmHWM"): number | undefined {
  try {
    const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

const live = new Set<Proc>();
let cleanupInstalled = false;

/** Kills everything still running when the script ends or is interrupted (a deadline exits too). */
function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  const stopAll = () => {
    for (const proc of live) {
      try {
        process.kill(proc.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  };
  process.on("exit", stopAll);
  for (const signal of ["SIGINT", "SIGTERM"] as const)
    process.once(signal, () => {
      stopAll();
      process.exit(130);
    });
}

export interface StartOptions {
  name: string;
  args: string[];
  env?: Record<string, string>;
  nodeFlags?: string[];
  /** Wait for "listening on <url>" (servers) or not (workers). */
  waitForUrl?: boolean;
  /** Removed on stop. */
  dataDir?: string;
}

export async function startProcess(options: StartOptions): Promise<Proc> {
  installCleanup();
  const removeData = () => {
    if (options.dataDir) rmSync(options.dataDir, { recursive: true, force: true });
  };
  let started: StampedeProcess;
  try {
    started = await startStampede({ ...options, openFiles: OPEN_FILES, cwd: ROOT });
  } catch (error) {
    removeData();
    throw error;
  }
  const proc: Proc = {
    ...started,
    url: started.url,
    peakRss: () => statusBytes(started.pid, "VmHWM"),
    async stop() {
      live.delete(proc);
      await started.stop();
      removeData();
    },
  };
  live.add(proc);
  return proc;
}

export function tempDataDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `stampede-bench-${prefix}-`));
}

/** Runs `stampede bench ... --json` to completion (or kills it at the deadline) and returns its report. */
export async function runBench(
  args: string[],
  options: { timeoutMs: number; env?: Record<string, string>; onSpawn?: (pid: number) => void },
): Promise<{ code: number | null; report: BenchReport | undefined; stderr: string }> {
  const child = spawn(process.execPath, [STAMPEDE_BIN, "bench", ...args, "--json", "--no-progress"], {
    cwd: ROOT,
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (child.pid !== undefined) options.onSpawn?.(child.pid);
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const timer = setTimeout(() => {
    stderr += `\n(bench killed after ${options.timeoutMs} ms)`;
    child.kill("SIGKILL");
  }, options.timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
  clearTimeout(timer);
  let report: BenchReport | undefined;
  try {
    report = JSON.parse(stdout) as BenchReport;
  } catch {
    report = undefined;
  }
  return { code, report, stderr };
}
