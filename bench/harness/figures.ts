/**
 * What a scenario keeps of one `stampede bench` run (RunFigures), the
 * interleaved ceiling/system pairs summarised by their medians, and how both
 * are printed. Figures vary by about 25% between runs on this machine: the
 * ratio within a pair is what counts, and a summary is the median of pairs.
 */

import { ms, num, pct } from "../engine/format.ts";
import type { BenchReport } from "../engine/report/report.ts";
import { median } from "../engine/stats.ts";
import { type CpuShare, formatCpu } from "./cpu.ts";
import type { ListenCounters } from "./kernel.ts";
import { formatRedisCommands, type RedisCommandShare } from "./redis-commands.ts";

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
  /** Where the CPU went during the firing phase (cpu.ts). */
  cpu?: CpuShare;
  /** Distributed modes: Redis commands per admitted claim and per request, by process (redis-commands.ts). */
  redisCommands?: RedisCommandShare;
  failures: string[];
  extra?: Record<string, unknown>;
}

/** The figures of one run, from its report (none when `stampede bench` gave no report). */
export function figuresOf(
  kind: RunFigures["kind"],
  code: number | null,
  report: BenchReport | undefined,
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
  const toIssued = report.latency.admissionToIssued;
  const settle = report.settle;
  return {
    kind,
    ok: report.pass,
    exitCode: code,
    rps: report.firing.requestsPerSecond,
    p50: report.latency.admission.p50,
    p99: report.latency.admission.p99,
    max: report.latency.admission.max,
    ...(toIssued ? { toIssuedP50: toIssued.p50, toIssuedP99: toIssued.p99 } : {}),
    ...(settle?.issuedPerSecond !== undefined ? { issuedPerSecond: settle.issuedPerSecond } : {}),
    ...(settle?.pendingZeroAfterMs !== undefined ? { settleMs: settle.pendingZeroAfterMs } : {}),
    ...(settle?.lastIssuedAfterLastAdmittedMs !== undefined
      ? { serverSettleMs: settle.lastIssuedAfterLastAdmittedMs }
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

export interface Pair {
  ceiling: RunFigures;
  system: RunFigures;
}

export interface PairSummary {
  pairs: Pair[];
  medianCeilingRps: number;
  medianSystemRps: number;
  medianRpsRatio: number;
  medianCeilingP99: number;
  medianSystemP99: number;
  medianP99Ratio: number;
  allSystemRunsPass: boolean;
}

export function summarizePairs(pairs: Pair[]): PairSummary {
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

export function log(text: string): void {
  process.stdout.write(`${text}\n`);
}

/** One run on one line: throughput, p99, settle, the kernel's TCP counters, verdict, CPU per request. */
export function line(f: RunFigures): string {
  const listen = f.listen
    ? ` overflows ${num(f.listen.overflows)} syn-retrans ${num(f.listen.synRetrans)} retrans ${num(f.listen.retransSegs)} softnet-drops ${num(f.listen.softnetDropped)}`
    : "";
  const settle = f.settleMs !== undefined ? ` settle ${ms(f.settleMs)}` : "";
  const errors = f.connectionErrors ? ` conn-errors ${num(f.connectionErrors)}` : "";
  const verdict = f.kind === "system" ? (f.ok ? " PASS" : " FAIL") : f.ok ? "" : " (unclean)";
  return `${f.kind} ${num(f.rps)} req/s p99 ${ms(f.p99)}${settle}${listen}${errors}${verdict}${formatCpu(f.cpu)}${formatRedisCommands(f.redisCommands)}`;
}

/** The medians, the ratio against its target (when the scenario has one) and every invariant failure. */
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
