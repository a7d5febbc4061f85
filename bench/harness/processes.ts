import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Starting and stopping the processes a scenario measures: each through
 * `sh -c 'ulimit -n ...; exec node ...'` (a server accepting 10,000
 * connections needs 10,000 descriptors, and Node cannot raise its own
 * limit), each with its own temporary data directory removed on stop, each
 * killed if it does not stop in time.
 */
export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const BIN = join(ROOT, "bin/stampede.js");
export const OPEN_FILES = 65_536;
const RAISE = 'ulimit -n "$1" 2>/dev/null || ulimit -Sn "$(ulimit -Hn)" 2>/dev/null; shift; exec "$@"';

export interface Proc {
  name: string;
  pid: number;
  url?: string;
  output(): string;
  /** Peak resident set size so far (VmHWM), in bytes; undefined once exited or off Linux. */
  peakRss(): number | undefined;
  stop(): Promise<void>;
}

const live = new Set<Proc>();
let cleanupInstalled = false;

/** Stops everything still running when the script ends or is interrupted. */
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
  startTimeoutMs?: number;
}

export async function startProcess(options: StartOptions): Promise<Proc> {
  installCleanup();
  const child: ChildProcess = spawn(
    "/bin/sh",
    [
      "-c",
      RAISE,
      "bench",
      String(OPEN_FILES),
      process.execPath,
      ...(options.nodeFlags ?? []),
      BIN,
      ...options.args,
    ],
    {
      cwd: ROOT,
      env: { ...process.env, PORT: "0", LOG_LEVEL: "warn", ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (output += d));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (output += d));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const proc: Proc = {
    name: options.name,
    pid: child.pid!,
    output: () => output,
    peakRss: () => {
      try {
        const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"));
        return match ? Number(match[1]) * 1024 : undefined;
      } catch {
        return undefined;
      }
    },
    async stop() {
      live.delete(proc);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
        await exited;
        clearTimeout(timer);
      }
      if (options.dataDir) rmSync(options.dataDir, { recursive: true, force: true });
    },
  };
  live.add(proc);
  if (options.waitForUrl === false) return proc;
  proc.url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      void proc.stop();
      reject(new Error(`${options.name} did not start in time:\n${output}`));
    }, options.startTimeoutMs ?? 30_000);
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
      live.delete(proc);
      if (options.dataDir) rmSync(options.dataDir, { recursive: true, force: true });
      reject(new Error(`${options.name} exited (${code}) before listening:\n${output}`));
    });
  });
  return proc;
}

export function tempDataDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `stampede-bench-${prefix}-`));
}

/** Runs `stampede bench ... --json` to completion (or kills it at the deadline) and returns its report. */
export async function runBench(
  args: string[],
  options: { timeoutMs: number; env?: Record<string, string>; onSpawn?: (pid: number) => void },
): Promise<{ code: number | null; report: BenchJson | undefined; stderr: string }> {
  const child = spawn(process.execPath, [BIN, "bench", ...args, "--json", "--no-progress"], {
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
  let report: BenchJson | undefined;
  try {
    report = JSON.parse(stdout) as BenchJson;
  } catch {
    report = undefined;
  }
  return { code, report, stderr };
}

/** The fields of `stampede bench --json` the scenarios read (bench/engine/report/report.ts has them all). */
export interface Latency {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface BenchJson {
  kind: string;
  /** When the first measured request was sent (ISO). */
  startedAt: string;
  answers: { byStatus: Record<string, number>; connectionErrors: Record<string, number> };
  firing: { durationMs: number; requestsPerSecond: number; generatorCpuUsPerRequest?: number };
  latency: {
    admission: Latency;
    byStatus: Record<string, Latency>;
    admissionToIssued?: Latency;
    /** With --latency-window. */
    windows?: { windowMs: number; summaries: Latency[] };
  };
  settle?: {
    quiet: boolean;
    pendingZeroAfterMs?: number;
    lastIssuedAfterLastAdmittedMs?: number;
    issuedPerSecond?: number;
  };
  counters?: { final?: { issued: number; pending: number } };
  invariants: { id: number; name: string; pass: boolean; failures: string[] }[];
  pass: boolean;
}
