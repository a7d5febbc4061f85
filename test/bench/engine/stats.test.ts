import assert from "node:assert/strict";
import { test } from "node:test";
import {
  histogram,
  LATENCY_EDGES,
  linearFit,
  median,
  percentile,
  summarize,
  timeline,
  windowed,
} from "../../../bench/engine/stats.ts";

test("percentile is the nearest rank: always an observed value", () => {
  const sorted = Float64Array.from({ length: 100 }, (_, i) => i + 1); // 1..100
  assert.equal(percentile(sorted, 50), 50);
  assert.equal(percentile(sorted, 90), 90);
  assert.equal(percentile(sorted, 99), 99);
  assert.equal(percentile(sorted, 100), 100);
  assert.equal(percentile(sorted, 0), 1);
  assert.equal(percentile([7], 99), 7);
  assert.equal(percentile([1, 2, 3], 50), 2);
  assert.equal(percentile([1, 2, 3, 4], 50), 2);
  assert.ok(Number.isNaN(percentile([], 50)));
});

test("summarize sorts its input and reports count, mean and the percentiles", () => {
  const values = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
  const s = summarize(values);
  assert.deepEqual(s, { count: 10, min: 1, mean: 5.5, p50: 5, p90: 9, p99: 10, max: 10 });
  assert.deepEqual(values, [5, 1, 4, 2, 3, 10, 9, 8, 7, 6], "the caller's array is left alone");
  const empty = summarize([]);
  assert.equal(empty.count, 0);
  assert.ok(Number.isNaN(empty.p99));
});

test("p99 of a long tail lands in the tail", () => {
  const values = [...Array.from({ length: 990 }, () => 1), ...Array.from({ length: 10 }, () => 1000)];
  const s = summarize(values);
  assert.equal(s.p50, 1);
  assert.equal(s.p90, 1);
  assert.equal(s.p99, 1);
  assert.equal(summarize([...values, 1000]).p99, 1000);
});

test("histogram counts each value once, in the first bucket whose edge holds it", () => {
  const buckets = histogram([0.05, 0.1, 0.15, 1, 1.5, 3, 100_000, 200_000]);
  assert.equal(buckets.length, LATENCY_EDGES.length + 1);
  const at = (le: number) => buckets.find((b) => b.le === le)!.count;
  assert.equal(at(0.1), 2, "0.05 and 0.1 (edges are inclusive)");
  assert.equal(at(0.2), 1);
  assert.equal(at(1), 1);
  assert.equal(at(2), 1);
  assert.equal(at(5), 1);
  assert.equal(at(100_000), 1);
  assert.equal(buckets.at(-1)!.le, Number.POSITIVE_INFINITY);
  assert.equal(buckets.at(-1)!.count, 1);
  assert.equal(
    buckets.reduce((n, b) => n + b.count, 0),
    8,
  );
});

test("the latency edges run 1-2-5 from 0.1 ms to 100 s", () => {
  assert.deepEqual(LATENCY_EDGES.slice(0, 6), [0.1, 0.2, 0.5, 1, 2, 5]);
  assert.equal(LATENCY_EDGES.at(-1), 100_000);
});

test("timeline counts completions per bucket", () => {
  assert.deepEqual(timeline([0, 50, 99.9, 100, 250, 999], 100), [3, 1, 1, 0, 0, 0, 0, 0, 0, 1]);
  assert.deepEqual(timeline([], 100), [0]);
});

test("median of the interleaved pairs", () => {
  assert.equal(median([0.9, 0.7, 0.8]), 0.8);
  assert.equal(median([1, 4, 2, 3]), 2.5);
  assert.ok(Number.isNaN(median([])));
});

test("windowed summarizes latency by the window each request was due in, skipping excluded ones", () => {
  // due at 0, 500, 1500 and 2100 ms; the second finishes in the next window but counts where it was due.
  const latency = [10, 600, 20, 30, 5];
  const doneAt = [10, 1100, 1520, 2130, 2200];
  const windows = windowed(doneAt, latency, (i) => i !== 4, 1000);
  assert.deepEqual(
    windows.map((w) => [w.count, w.p99]),
    [
      [2, 600],
      [1, 20],
      [1, 30],
    ],
  );
  const gap = windowed([10, 3010], [5, 5], () => true, 1000);
  assert.deepEqual(
    gap.map((w) => w.count),
    [1, 0, 0, 1],
    "an empty window is there, with count 0",
  );
});

test("linearFit finds the slope of a noisy line, and says NaN when there is no line", () => {
  const points = Array.from({ length: 100 }, (_, i) => ({
    x: i,
    y: 3 + 0.5 * i + (i % 2 === 0 ? 0.1 : -0.1),
  }));
  const fit = linearFit(points);
  assert.ok(Math.abs(fit.slope - 0.5) < 0.001, `slope ${fit.slope}`);
  assert.ok(Math.abs(fit.intercept - 3) < 0.1, `intercept ${fit.intercept}`);
  assert.equal(linearFit([{ x: 1, y: 5 }]).slope, Number.NaN);
  assert.ok(
    Number.isNaN(
      linearFit([
        { x: 1, y: 5 },
        { x: 1, y: 7 },
      ]).slope,
    ),
  );
});
