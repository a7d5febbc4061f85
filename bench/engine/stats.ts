/**
 * The report's arithmetic: percentiles by nearest rank (the value below
 * which p% of the samples fall, always an observed sample), latency
 * histograms on a 1-2-5 scale, and throughput per time bucket.
 */

export interface Summary {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentile of ascending `sorted`; NaN when empty. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  if (p <= 0) return sorted[0]!;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, rank) - 1]!;
}

export function summarize(values: ArrayLike<number>): Summary {
  const sorted = Float64Array.from(values).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  const n = sorted.length;
  return {
    count: n,
    min: n ? sorted[0]! : Number.NaN,
    mean: n ? sum / n : Number.NaN,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: n ? sorted[n - 1]! : Number.NaN,
  };
}

/** Upper bucket edges in ms: 0.1, 0.2, 0.5, 1, 2, 5, ... 100,000. */
export const LATENCY_EDGES: number[] = (() => {
  const edges: number[] = [];
  for (let decade = 0.1; decade <= 100_000; decade *= 10)
    for (const m of [1, 2, 5]) edges.push(Number((decade * m).toPrecision(3)));
  return edges.filter((e) => e <= 100_000);
})();

export interface Bucket {
  /** Upper edge (inclusive); Infinity for the overflow bucket. */
  le: number;
  count: number;
}

export function histogram(values: ArrayLike<number>, edges: number[] = LATENCY_EDGES): Bucket[] {
  const buckets: Bucket[] = [...edges, Number.POSITIVE_INFINITY].map((le) => ({ le, count: 0 }));
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    let lo = 0;
    let hi = buckets.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (v <= buckets[mid]!.le) hi = mid;
      else lo = mid + 1;
    }
    buckets[lo]!.count++;
  }
  return buckets;
}

/** Answers completed in each `bucketMs` slice of the run, from their completion offsets. */
export function timeline(doneAtMs: ArrayLike<number>, bucketMs: number): number[] {
  let last = 0;
  for (let i = 0; i < doneAtMs.length; i++) last = Math.max(last, doneAtMs[i]!);
  const counts = new Array<number>(Math.floor(last / bucketMs) + 1).fill(0);
  for (let i = 0; i < doneAtMs.length; i++) counts[Math.floor(doneAtMs[i]! / bucketMs)]!++;
  return counts;
}

/**
 * Latency summaries per `windowMs` slice of the run, each request counted in
 * the slice it was due in (its completion offset minus its latency): a soak
 * compares its first minute with its last. Empty slices summarize to count 0.
 */
export function windowed(
  doneAtMs: ArrayLike<number>,
  latencyMs: ArrayLike<number>,
  include: (index: number) => boolean,
  windowMs: number,
): Summary[] {
  const slices: number[][] = [];
  for (let i = 0; i < doneAtMs.length; i++) {
    if (!include(i)) continue;
    const slice = Math.max(0, Math.floor((doneAtMs[i]! - latencyMs[i]!) / windowMs));
    while (slices.length <= slice) slices.push([]);
    slices[slice]!.push(latencyMs[i]!);
  }
  return slices.map((values) => summarize(values));
}

/** Least-squares line through (x, y) points: a soak's memory growth per minute. NaN slope for fewer than 2 distinct x. */
export function linearFit(points: { x: number; y: number }[]): { slope: number; intercept: number } {
  const n = points.length;
  let sx = 0;
  let sy = 0;
  for (const p of points) {
    sx += p.x;
    sy += p.y;
  }
  const mx = sx / n;
  const my = sy / n;
  let sxy = 0;
  let sxx = 0;
  for (const p of points) {
    sxy += (p.x - mx) * (p.y - my);
    sxx += (p.x - mx) ** 2;
  }
  const slope = n > 1 && sxx > 0 ? sxy / sxx : Number.NaN;
  return { slope, intercept: my - slope * mx };
}

/** Median of a few figures (the interleaved ceiling/system pairs). */
export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
