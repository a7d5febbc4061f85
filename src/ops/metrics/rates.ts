import { CLAIM_ROUTE, HOLD_OUTCOMES, type HoldOutcomeLabel, type Metrics } from "./metrics.ts";

/**
 * Turns the cumulative counters into "per second over the last interval" for
 * the dashboard, by reading the registry once per tick and diffing: nothing
 * extra runs per request. Claim latency percentiles are estimated from the
 * histogram's bucket counts (linear within a bucket), as Prometheus's
 * histogram_quantile() does.
 */
export interface Sample {
  at: number;
  admissions: Record<string, number>;
  requests: number;
  /** Cumulative counts of POST claim latencies, by bucket upper bound (seconds). */
  claimBuckets: [number, number][];
  /** Holds ended in the ledger, by outcome (cumulative). */
  holds: Record<HoldOutcomeLabel, number>;
}

export interface Rates {
  /** Seconds the rates cover. */
  seconds: number;
  admittedPerSec: number;
  rejectedPerSec: Record<string, number>;
  requestsPerSec: number;
  claimLatencyMs: { p50: number; p99: number } | null;
  /**
   * Holds ended in the ledger during the window, by outcome: counts, not
   * rates (the dashboard sums the last minute's for its expiries per minute).
   */
  holdsEnded: Record<HoldOutcomeLabel, number>;
}

export async function sample(metrics: Metrics, at = Date.now()): Promise<Sample> {
  const [admissions, requests, durations, holdEnds] = await Promise.all([
    metrics.admissions.get(),
    metrics.httpRequests.get(),
    metrics.httpDuration.get(),
    metrics.holds.get(),
  ]);
  const holds: Record<HoldOutcomeLabel, number> = { confirmed: 0, released: 0, expired: 0 };
  for (const v of holdEnds.values) {
    const outcome = v.labels.outcome as HoldOutcomeLabel;
    if (HOLD_OUTCOMES.includes(outcome)) holds[outcome] = v.value;
  }
  const byOutcome: Record<string, number> = {};
  for (const v of admissions.values) byOutcome[String(v.labels.outcome)] = v.value;
  const claimBuckets: [number, number][] = [];
  for (const v of durations.values) {
    if (v.metricName !== "stampede_http_request_duration_seconds_bucket") continue;
    if (v.labels.route !== CLAIM_ROUTE || v.labels.method !== "POST") continue;
    const bound = (v.labels as Record<string, string | number | undefined>).le;
    const le = bound === "+Inf" ? Infinity : Number(bound);
    claimBuckets.push([le, v.value]);
  }
  claimBuckets.sort((a, b) => a[0] - b[0]);
  return {
    at,
    admissions: byOutcome,
    requests: requests.values.reduce((sum, v) => sum + v.value, 0),
    claimBuckets,
    holds,
  };
}

export function rates(before: Sample, after: Sample): Rates {
  const seconds = Math.max(0.001, (after.at - before.at) / 1000);
  const per = (n: number) => Math.round((n / seconds) * 10) / 10;
  const rejectedPerSec: Record<string, number> = {};
  for (const [outcome, value] of Object.entries(after.admissions)) {
    if (outcome === "admitted") continue;
    const delta = value - (before.admissions[outcome] ?? 0);
    if (delta > 0) rejectedPerSec[outcome] = per(delta);
  }
  const buckets = after.claimBuckets.map(([le, count]): [number, number] => {
    const earlier = before.claimBuckets.find(([l]) => l === le)?.[1] ?? 0;
    return [le, count - earlier];
  });
  const p50 = quantile(buckets, 0.5);
  const p99 = quantile(buckets, 0.99);
  return {
    seconds,
    admittedPerSec: per((after.admissions.admitted ?? 0) - (before.admissions.admitted ?? 0)),
    rejectedPerSec,
    requestsPerSec: per(after.requests - before.requests),
    claimLatencyMs: p50 === undefined || p99 === undefined ? null : { p50: ms(p50), p99: ms(p99) },
    holdsEnded: {
      confirmed: after.holds.confirmed - before.holds.confirmed,
      released: after.holds.released - before.holds.released,
      expired: after.holds.expired - before.holds.expired,
    },
  };
}

const ms = (seconds: number) => Math.round(seconds * 10_000) / 10;

/** q-quantile from cumulative [upperBound, count] buckets sorted by bound; undefined when empty. */
export function quantile(buckets: [number, number][], q: number): number | undefined {
  const total = buckets.at(-1)?.[1] ?? 0;
  if (total <= 0) return undefined;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const [bound, count] of buckets) {
    if (count >= rank) {
      // The top bucket has no upper bound: report its lower one.
      if (!Number.isFinite(bound)) return lowerBound;
      const inBucket = count - lowerCount;
      return inBucket <= 0 ? bound : lowerBound + ((bound - lowerBound) * (rank - lowerCount)) / inBucket;
    }
    lowerBound = bound;
    lowerCount = count;
  }
  return lowerBound;
}
