import type { InvariantResult } from "../invariants.ts";
import type { Bucket, Summary } from "../stats.ts";

/** What one run of `stampede bench` found: printed as text, as JSON (--json) or as a page (--out). */
export interface BenchReport {
  /** "stampede": a system under test with invariant checks; "ceiling": the constant-410 server. */
  kind: "stampede" | "ceiling";
  startedAt: string;
  node: string;
  targets: string[];
  campaign?: { id: string; stock: number; perUserLimit: number };
  load: {
    users: number;
    requests: number;
    duplicates: number;
    concurrency: number | "all";
    rate?: number;
    idempotencyKeys: boolean;
    userIdLength: number;
  };
  openFiles: { ok: boolean; message: string };
  answers: {
    byStatus: Record<string, number>;
    connectionErrors: Record<string, number>;
    /** Requests answered 429/503 at least once and sent again after Retry-After. */
    retried: number;
  };
  firing: {
    durationMs: number;
    requestsPerSecond: number;
    connectionsOpened: number;
    /** CPU the generator process spent per request, in µs (it shares the machine with the server). */
    generatorCpuUsPerRequest?: number;
    timelineBucketMs: number;
    /** Answers completed per bucket. */
    timeline: number[];
  };
  latency: {
    admission: Summary;
    byStatus: Record<string, Summary>;
    /** From the server's admittedAt/issuedAt of every claim answered 202 (ms resolution). */
    admissionToIssued?: Summary;
    /** With --latency-window: admission latency per window, by when each request was due. */
    windows?: { windowMs: number; summaries: Summary[] };
  };
  histogram: Bucket[];
  settle?: {
    quiet: boolean;
    /** From the last 202 received to the first counter read with pending = 0 (sampling resolution). */
    pendingZeroAfterMs?: number;
    /** Server clock: newest issuedAt minus newest admittedAt. */
    lastIssuedAfterLastAdmittedMs?: number;
    /** Ledger rows per second: claims issued / (newest issuedAt - oldest issuedAt). */
    issuedPerSecond?: number;
  };
  counters?: {
    final?: { issued: number; pending: number; remaining: number };
    reads: number;
    /** Sampled counters, ms from the start of firing (for the page's chart). */
    series: { t: number; issued: number; pending: number; remaining: number }[];
  };
  invariants: InvariantResult[];
  notes: string[];
  pass: boolean;
}
