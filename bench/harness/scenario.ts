import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { median } from "../engine/stats.ts";

export { median };

import type { ScenarioArgs } from "./args.ts";
import { CpuSampler, type CpuShare, formatCpu } from "./cpu.ts";
import { backlogLimits, diffCounters, type ListenCounters, listenCounters, machine } from "./kernel.ts";
import { ADMIN_TOKEN, type System, type SystemOptions, startCeiling, startSystem } from "./modes.ts";
import { type BenchJson, runBench } from "./processes.ts";
import { formatHotSpots, profilesIn, summarizeProfile } from "./profile.ts";

/**
 * One scenario = the same load fired at the ceiling and at the system, in
 * interleaved pairs (ceiling first in odd pairs, system first in even ones,
 * so drift on a shared machine does not favour either), each against freshly
 * started processes. Figures vary by about 25% between runs on this machine:
 * the ratio within a pair is what counts, and the summary is the median.
 */
export interface RunFigures {
  kind: "ceiling" | "system";
  ok: boolean;
  exitCode: number | null;
  rps: number;
  p50: number;
  p99: number;
  max: number;
  toIssuedP50?: number;
  toIssuedP99?: number;
  issuedPerSecond?: number;
  settleMs?: number;
  serverSettleMs?: number;
  byStatus: Record<string, number>;
  connectionErrors: number;
  status5xx: number;
  generatorCpuUs?: number;
  listen?: ListenCounters;
  peakRssMiB?: Record<string, number>;
  /** Where the CPU went during the firing phase (harness/cpu.ts). */
  cpu?: CpuShare;
  failures: string[];
  extra?: Record<string, unknown>;
}

export interface ScenarioSpec {
  name: string;
  /** `stampede bench` flags of the load (targets are added). */
  benchArgs: string[];
  systemOptions?: SystemOptions;
  /** Bench timeout per run. */
  runTimeoutMs: number;
  /** Runs the ceiling too (false for scenarios whose figure has no ceiling, e.g. drain). */
  withCeiling?: boolean;
  /** Called while the system is up, after its bench run (e.g. Redis memory figures). */
  afterSystemRun?: (system: System, report: BenchJson | undefined) => Promise<Record<string, unknown>>;
  /** Called before its bench run (e.g. INFO memory before). */
  beforeSystemRun?: (system: System) => Promise<void>;
}

const mib = (bytes: number | undefined) => (bytes === undefined ? undefined : Math.round(bytes / 1048576));

function figures(
  kind: RunFigures["kind"],
  code: number | null,
  report: BenchJson | undefined,
  stderr: string,
): RunFigures {
  if (!report)
    return {
      kind,
      ok: false,
      exitCode: code,
      rps: Number.NaN,
      p50: Number.NaN,
      p99: Number.NaN,
      max: Number.NaN,
      byStatus: {},
      connectionErrors: 0,
      status5xx: 0,
      failures: [`no report (exit ${code}): ${stderr.trim().split("\n").slice(-3).join(" / ")}`],
    };
  const status5xx = Object.entries(report.answers.byStatus)
    .filter(([s]) => Number(s) >= 500 && s !== "503")
    .reduce((n, [, c]) => n + c, 0);
  return {
    kind,
    ok: report.pass,
    exitCode: code,
    rps: report.firing.requestsPerSecond,
    p50: report.latency.admission.p50,
    p99: report.latency.admission.p99,
    max: report.latency.admission.max,
    ...(report.latency.admissionToIssued
      ? {
          toIssuedP50: report.latency.admissionToIssued.p50,
          toIssuedP99: report.latency.admissionToIssued.p99,
        }
      : {}),
    ...(report.settle?.issuedPerSecond !== undefined
      ? { issuedPerSecond: report.settle.issuedPerSecond }
      : {}),
    ...(report.settle?.pendingZeroAfterMs !== undefined
      ? { settleMs: report.settle.pendingZeroAfterMs }
      : {}),
    ...(report.settle?.lastIssuedAfterLastAdmittedMs !== undefined
      ? { serverSettleMs: report.settle.lastIssuedAfterLastAdmittedMs }
      : {}),
    byStatus: report.answers.byStatus,
    connectionErrors: Object.values(report.answers.connectionErrors).reduce((a, b) => a + b, 0),
    status5xx,
    ...(report.firing.generatorCpuUsPerRequest !== undefined
      ? { generatorCpuUs: report.firing.generatorCpuUsPerRequest }
      : {}),
    failures: report.invariants.filter((i) => !i.pass).flatMap((i) => i.failures.map((f) => `${i.id}. ${f}`)),
  };
}

export class Scenario {
  readonly spec: ScenarioSpec;
  readonly args: ScenarioArgs;
  readonly outDir: string;
  readonly stamp = new Date().toISOString().replace(/[:.]/g, "-");
  readonly runs: RunFigures[] = [];
  #runIndex = 0;

  constructor(spec: ScenarioSpec, args: ScenarioArgs) {
    this.spec = spec;
    this.args = args;
    this.outDir = args.outDir;
    mkdirSync(this.outDir, { recursive: true });
    // Bounded in time whatever happens: processes are killed by the exit handler (harness/processes.ts).
    setTimeout(() => {
      process.stderr.write(`\n${spec.name}: deadline of ${args.deadlineMinutes} min passed; stopping\n`);
      process.exit(3);
    }, args.deadlineMinutes * 60_000).unref();
  }

  get profileDir(): string | undefined {
    return this.args.profile
      ? join(this.outDir, "profiles", `${this.spec.name}-${this.args.mode}-${this.stamp}`)
      : undefined;
  }

  /** Fires the load once at a fresh ceiling server. */
  async ceilingRun(benchArgs = this.spec.benchArgs): Promise<RunFigures> {
    const server = await startCeiling();
    const before = listenCounters();
    const known = new Map([[server.pid, "ceiling"]]);
    const sampler = new CpuSampler(() => known);
    try {
      const result = await runBench(["--ceiling", "--target", server.url!, ...benchArgs], {
        timeoutMs: this.spec.runTimeoutMs,
        onSpawn: (pid) => known.set(pid, "generator"),
      });
      sampler.stop();
      const f = figures("ceiling", result.code, result.report, result.stderr);
      f.cpu = firingCpu(sampler, result.report);
      f.listen = diffCounters(before, listenCounters());
      f.peakRssMiB = { ceiling: mib(server.peakRss()) ?? 0 };
      this.#save("ceiling", result.report);
      return this.#record(f);
    } finally {
      await server.stop();
    }
  }

  /** Fires the load once at a freshly started system. */
  async systemRun(
    benchArgs = this.spec.benchArgs,
    systemOptions = this.spec.systemOptions,
  ): Promise<RunFigures> {
    const system = await startSystem(this.args.mode, { ...systemOptions, profileDir: this.profileDir });
    try {
      await this.spec.beforeSystemRun?.(system);
      const before = listenCounters();
      const targets = system.targets.flatMap((t) => ["--target", t]);
      const known = new Map(system.processes.map((p) => [p.pid, cpuRole(p.name)]));
      const sampler = new CpuSampler(() => known);
      const result = await runBench([...targets, "--admin-token", ADMIN_TOKEN, ...benchArgs], {
        timeoutMs: this.spec.runTimeoutMs,
        onSpawn: (pid) => known.set(pid, "generator"),
      });
      sampler.stop();
      const f = figures("system", result.code, result.report, result.stderr);
      f.cpu = firingCpu(sampler, result.report);
      f.listen = diffCounters(before, listenCounters());
      f.peakRssMiB = Object.fromEntries(system.processes.map((p) => [p.name, mib(p.peakRss()) ?? 0]));
      if (this.spec.afterSystemRun) f.extra = await this.spec.afterSystemRun(system, result.report);
      this.#save("system", result.report);
      return this.#record(f);
    } finally {
      await system.stop();
    }
  }

  /** The interleaved pairs; returns the medians. */
  async pairs(): Promise<PairSummary> {
    const pairs: { ceiling: RunFigures; system: RunFigures }[] = [];
    for (let i = 0; i < this.args.pairs; i++) {
      let ceiling: RunFigures;
      let system: RunFigures;
      if (i % 2 === 0) {
        ceiling = await this.ceilingRun();
        system = await this.systemRun();
      } else {
        system = await this.systemRun();
        ceiling = await this.ceilingRun();
      }
      pairs.push({ ceiling, system });
      log(
        `pair ${i + 1}/${this.args.pairs}: ${line(ceiling)}  |  ${line(system)}  | ratio ${pct(system.rps / ceiling.rps)}`,
      );
    }
    return summarizePairs(pairs);
  }

  /** Writes the summary JSON and prints the machine, the kernel limits and the profile's hot spots. */
  finish(summary: Record<string, unknown>): string {
    const info = {
      scenario: this.spec.name,
      mode: this.args.mode,
      machine: machine(),
      backlog: backlogLimits(),
    };
    const file = join(this.outDir, `${this.spec.name}-${this.args.mode}-${this.stamp}.json`);
    writeFileSync(file, `${JSON.stringify({ ...info, ...summary, runs: this.runs }, null, 2)}\n`);
    log(
      `machine: ${info.machine.cores} × ${info.machine.cpus}, ${info.machine.memoryGiB} GiB, Linux ${info.machine.kernel}, load ${info.machine.load}`,
    );
    log(
      `kernel: somaxconn ${info.backlog.somaxconn} (caps LISTEN_BACKLOG), tcp_max_syn_backlog ${info.backlog.maxSynBacklog}, ` +
        `netdev_max_backlog ${info.backlog.netdevMaxBacklog} (loopback packets beyond it are dropped, then retransmitted); ` +
        "TCP counters are machine-wide",
    );
    const dir = this.profileDir;
    if (dir)
      for (const profile of profilesIn(dir)) {
        const hot = summarizeProfile(profile);
        log(`\nprofile ${profile} (${hot.totalMs.toFixed(0)} ms on CPU)`);
        log(formatHotSpots("by place:", hot.byPlace.slice(0, 15)));
        log(formatHotSpots("by function:", hot.byFunction.slice(0, 25)));
      }
    log(`summary: ${file}`);
    return file;
  }

  #record(f: RunFigures): RunFigures {
    this.runs.push(f);
    return f;
  }

  #save(kind: string, report: BenchJson | undefined): void {
    if (!report) return;
    const file = join(
      this.outDir,
      `${this.spec.name}-${this.args.mode}-${this.stamp}-${++this.#runIndex}-${kind}.json`,
    );
    writeFileSync(file, JSON.stringify(report));
  }
}

/** "stampede api #2" -> "api"; the embedded "stampede start" -> "stampede". */
const cpuRole = (name: string) =>
  name === "stampede start" ? "stampede" : name.replace(/^stampede (\S+).*$/, "$1");

/** The CPU of the report's firing phase, per request it sent. */
function firingCpu(sampler: CpuSampler, report: BenchJson | undefined): CpuShare | undefined {
  if (!report) return undefined;
  const from = Date.parse(report.startedAt);
  const requests =
    Object.values(report.answers.byStatus).reduce((a, b) => a + b, 0) +
    Object.values(report.answers.connectionErrors).reduce((a, b) => a + b, 0);
  return sampler.window(from, from + report.firing.durationMs, requests);
}

export interface PairSummary {
  pairs: { ceiling: RunFigures; system: RunFigures }[];
  medianCeilingRps: number;
  medianSystemRps: number;
  medianRpsRatio: number;
  medianCeilingP99: number;
  medianSystemP99: number;
  medianP99Ratio: number;
  allSystemRunsPass: boolean;
}

export function summarizePairs(pairs: { ceiling: RunFigures; system: RunFigures }[]): PairSummary {
  return {
    pairs,
    medianCeilingRps: median(pairs.map((p) => p.ceiling.rps)),
    medianSystemRps: median(pairs.map((p) => p.system.rps)),
    medianRpsRatio: median(pairs.map((p) => p.system.rps / p.ceiling.rps)),
    medianCeilingP99: median(pairs.map((p) => p.ceiling.p99)),
    medianSystemP99: median(pairs.map((p) => p.system.p99)),
    medianP99Ratio: median(pairs.map((p) => p.system.p99 / p.ceiling.p99)),
    allSystemRunsPass: pairs.every((p) => p.system.ok),
  };
}

export const pct = (r: number) => (Number.isFinite(r) ? `${(r * 100).toFixed(0)}%` : "n/a");
export const num = (v: number | undefined) =>
  v === undefined || Number.isNaN(v) ? "n/a" : Math.round(v).toLocaleString("en-US");
export const ms = (v: number | undefined) =>
  v === undefined || Number.isNaN(v) ? "n/a" : v < 10 ? `${v.toFixed(1)} ms` : `${num(v)} ms`;

export function line(f: RunFigures): string {
  const listen = f.listen
    ? ` overflows ${num(f.listen.overflows)} syn-retrans ${num(f.listen.synRetrans)} retrans ${num(f.listen.retransSegs)} softnet-drops ${num(f.listen.softnetDropped)}`
    : "";
  const settle = f.settleMs !== undefined ? ` settle ${ms(f.settleMs)}` : "";
  const errors = f.connectionErrors ? ` conn-errors ${num(f.connectionErrors)}` : "";
  const verdict = f.kind === "system" ? (f.ok ? " PASS" : " FAIL") : f.ok ? "" : " (unclean)";
  return `${f.kind} ${num(f.rps)} req/s p99 ${ms(f.p99)}${settle}${listen}${errors}${verdict}${formatCpu(f.cpu)}`;
}

export function log(text: string): void {
  process.stdout.write(`${text}\n`);
}

export function printPairs(summary: PairSummary, targetRatio?: number): void {
  log(
    `\nmedian: ceiling ${num(summary.medianCeilingRps)} req/s p99 ${ms(summary.medianCeilingP99)}; ` +
      `system ${num(summary.medianSystemRps)} req/s p99 ${ms(summary.medianSystemP99)}`,
  );
  log(
    `median ratio system/ceiling: throughput ${pct(summary.medianRpsRatio)}${
      targetRatio !== undefined
        ? ` (target >= ${pct(targetRatio)}: ${summary.medianRpsRatio >= targetRatio ? "MET" : "NOT MET"})`
        : ""
    }, p99 ${summary.medianP99Ratio.toFixed(2)}x (target <= 2x: ${summary.medianP99Ratio <= 2 ? "MET" : "NOT MET"})`,
  );
  log(`invariants: ${summary.allSystemRunsPass ? "PASS in every system run" : "FAILED in a system run"}`);
  for (const p of summary.pairs) for (const f of p.system.failures) log(`  !! ${f}`);
}
