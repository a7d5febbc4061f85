import assert from "node:assert/strict";
import { test } from "node:test";
import { CLAIM_ROUTE, Metrics } from "../../../src/ops/metrics/metrics.ts";
import { quantile, rates, sample } from "../../../src/ops/metrics/rates.ts";

test("quantile interpolates within cumulative buckets", () => {
  const buckets: [number, number][] = [
    [0.001, 50],
    [0.01, 90],
    [0.1, 100],
    [Infinity, 100],
  ];
  assert.equal(quantile(buckets, 0.5), 0.001);
  assert.ok(Math.abs(quantile(buckets, 0.7)! - 0.0055) < 1e-9);
  assert.ok(Math.abs(quantile(buckets, 0.99)! - 0.091) < 1e-9);
  assert.equal(quantile([[Infinity, 0]], 0.5), undefined, "no observation, no percentile");
  assert.equal(
    quantile(
      [
        [0.5, 0],
        [Infinity, 3],
      ],
      0.5,
    ),
    0.5,
    "the open top bucket reports its lower bound",
  );
});

test("rates are per second over the window between two samples", async () => {
  const metrics = new Metrics({ defaultMetrics: false });
  const before = await sample(metrics, 1_000);
  for (let i = 0; i < 30; i++) metrics.admission("admitted");
  for (let i = 0; i < 10; i++) metrics.admission("sold_out");
  for (let i = 0; i < 40; i++) metrics.observeHttp(CLAIM_ROUTE, "POST", 202, 0.002);
  metrics.observeHttp("/healthz", "GET", 200, 5);
  const after = await sample(metrics, 3_000);
  const r = rates(before, after);
  assert.equal(r.seconds, 2);
  assert.equal(r.admittedPerSec, 15);
  assert.deepEqual(r.rejectedPerSec, { sold_out: 5 });
  assert.equal(r.requestsPerSec, 20.5);
  assert.ok(r.claimLatencyMs, "claim latency is measured");
  assert.ok(r.claimLatencyMs.p50 > 1 && r.claimLatencyMs.p50 <= 2.5, `p50 ${r.claimLatencyMs.p50}`);
  assert.ok(r.claimLatencyMs.p99 <= 2.5, "the slow /healthz request is not a claim");

  assert.deepEqual(r.holdsEnded, { confirmed: 0, released: 0, expired: 0 });
  metrics.observeBatch({
    size: 4,
    issued: 1,
    conflicts: 0,
    durationMs: 1,
    holds: { confirmed: 1, released: 1, expired: 2 },
  });
  const held = rates(after, await sample(metrics, 3_500));
  assert.deepEqual(held.holdsEnded, { confirmed: 1, released: 1, expired: 2 }, "counts in the window");

  const quiet = rates(after, await sample(metrics, 4_000));
  assert.equal(quiet.admittedPerSec, 0);
  assert.equal(quiet.claimLatencyMs, null, "no claims in the window: no percentile");
});
