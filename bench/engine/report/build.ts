import type { FireResult } from "../generator/fire.ts";
import type { ClaimRead, InvariantResult } from "../invariants.ts";
import type { LimitReport } from "../limits.ts";
import type { BenchOptions } from "../options.ts";
import type { Sample } from "../sampler.ts";
import { histogram, summarize, timeline, windowed } from "../stats.ts";
import type { BenchReport } from "./report.ts";

export interface RunFacts {
  kind: BenchReport["kind"];
  options: BenchOptions;
  targets: string[];
  campaignId?: string;
  limit: LimitReport;
  fired: FireResult;
  samples: Sample[];
  final?: { issued: number; pending: number; remaining: number } | undefined;
  quietAt?: number | undefined;
  claims?: Map<string, ClaimRead>;
  invariants: InvariantResult[];
  notes: string[];
}

const TIMELINE_BUCKET_MS = 100;
const MAX_SERIES_POINTS = 600;

/** Turns the raw material of a run into its report. */
export function buildReport(f: RunFacts): BenchReport {
  const { fired, options } = f;
  const count = fired.status.length;
  const byStatus: Record<string, number> = {};
  const latencies: Record<string, number[]> = {};
  const answered: number[] = [];
  let retried = 0;
  let last202 = 0;
  for (let i = 0; i < count; i++) {
    const s = fired.status[i]!;
    byStatus[s] = (byStatus[s] ?? 0) + 1;
    if (fired.attempts[i]! > 1) retried++;
    if (s === 0) continue;
    const latency = fired.latencyMs[i]!;
    answered.push(latency);
    const list = latencies[s] ?? [];
    list.push(latency);
    latencies[s] = list;
    if (s === 202) last202 = Math.max(last202, fired.doneAtMs[i]!);
  }
  const byStatusLatency: Record<string, ReturnType<typeof summarize>> = {};
  for (const [status, values] of Object.entries(latencies)) byStatusLatency[status] = summarize(values);

  const report: BenchReport = {
    kind: f.kind,
    startedAt: new Date(fired.startedAtEpoch).toISOString(),
    node: process.versions.node,
    targets: f.targets,
    load: {
      users: options.users,
      requests: count,
      duplicates: options.duplicates,
      concurrency: Number.isFinite(options.concurrency) ? options.concurrency : "all",
      ...(options.rate !== undefined ? { rate: options.rate } : {}),
      idempotencyKeys: options.idempotencyKeys,
      userIdLength: options.userIdLength,
    },
    openFiles: { ok: f.limit.ok, message: f.limit.message },
    answers: { byStatus, connectionErrors: fired.errors, retried },
    firing: {
      durationMs: fired.durationMs,
      requestsPerSecond: fired.durationMs > 0 ? count / (fired.durationMs / 1000) : 0,
      connectionsOpened: fired.connectionsOpened,
      generatorCpuUsPerRequest: count > 0 ? fired.cpuMicros / count : 0,
      timelineBucketMs: TIMELINE_BUCKET_MS,
      timeline: timeline(fired.doneAtMs, TIMELINE_BUCKET_MS),
    },
    latency: { admission: summarize(answered), byStatus: byStatusLatency },
    histogram: histogram(answered),
    invariants: f.invariants,
    notes: f.notes,
    pass: f.invariants.every((i) => i.pass),
  };
  if (options.latencyWindowMs !== undefined)
    report.latency.windows = {
      windowMs: options.latencyWindowMs,
      summaries: windowed(
        fired.doneAtMs,
        fired.latencyMs,
        (i) => fired.status[i] !== 0,
        options.latencyWindowMs,
      ),
    };
  if (f.campaignId !== undefined)
    report.campaign = { id: f.campaignId, stock: options.stock, perUserLimit: options.perUserLimit };

  if (f.kind === "stampede") {
    const toIssued: number[] = [];
    let lastAdmitted = 0;
    let lastIssued = 0;
    let firstIssued = Number.POSITIVE_INFINITY;
    const admittedIds = new Set<string>();
    for (let i = 0; i < count; i++)
      if (fired.status[i] === 202 && fired.claimId[i]) admittedIds.add(fired.claimId[i]!);
    for (const id of admittedIds) {
      const read = f.claims?.get(id);
      if (read?.admittedAt === undefined || read.issuedAt === undefined) continue;
      toIssued.push(read.issuedAt - read.admittedAt);
      lastAdmitted = Math.max(lastAdmitted, read.admittedAt);
      lastIssued = Math.max(lastIssued, read.issuedAt);
      firstIssued = Math.min(firstIssued, read.issuedAt);
    }
    if (toIssued.length) report.latency.admissionToIssued = summarize(toIssued);
    const last202Epoch = fired.startedAtEpoch + last202;
    // The first read sent after the last 202 arrived that shows nothing pending (during or after firing).
    const quietAt = f.samples.find((s) => s.at >= last202Epoch && s.pending === 0)?.at ?? f.quietAt;
    report.settle = {
      quiet: f.quietAt !== undefined,
      ...(quietAt !== undefined && last202 > 0
        ? { pendingZeroAfterMs: Math.max(0, quietAt - last202Epoch) }
        : {}),
      ...(toIssued.length
        ? {
            lastIssuedAfterLastAdmittedMs: lastIssued - lastAdmitted,
            issuedPerSecond: toIssued.length / (Math.max(1, lastIssued - firstIssued) / 1000),
          }
        : {}),
    };
    const step = Math.max(1, Math.ceil(f.samples.length / MAX_SERIES_POINTS));
    report.counters = {
      ...(f.final ? { final: f.final } : {}),
      reads: f.samples.length,
      series: f.samples
        .filter((_, i) => i % step === 0)
        .map((s) => ({
          t: s.at - fired.startedAtEpoch,
          issued: s.issued,
          pending: s.pending,
          remaining: s.remaining,
        })),
    };
  } else {
    // The ceiling has no invariants; its run is sound when every request got the constant answer.
    const clean = (byStatus["410"] ?? 0) === count;
    report.pass = clean;
    if (!clean) report.notes.push("the ceiling server did not answer 410 to every request");
  }
  return report;
}
