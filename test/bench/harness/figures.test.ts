import assert from "node:assert/strict";
import { test } from "node:test";
import type { BenchReport } from "../../../bench/engine/report/report.ts";
import { figuresOf, line, type RunFigures, summarizePairs } from "../../../bench/harness/figures.ts";

const summary = (p50: number, p99: number) => ({
  count: 10,
  min: 1,
  mean: p50,
  p50,
  p90: p99,
  p99,
  max: p99,
});

function report(overrides: Partial<BenchReport> = {}): BenchReport {
  return {
    kind: "stampede",
    startedAt: "2026-12-04T00:00:00.000Z",
    node: "24",
    targets: ["http://127.0.0.1:1"],
    load: {
      users: 10,
      requests: 10,
      duplicates: 0,
      concurrency: 5,
      idempotencyKeys: false,
      userIdLength: 16,
    },
    openFiles: { ok: true, message: "" },
    answers: { byStatus: { "202": 4, "410": 5, "500": 1 }, connectionErrors: { ECONNRESET: 2 }, retried: 0 },
    firing: {
      durationMs: 100,
      requestsPerSecond: 100,
      connectionsOpened: 5,
      timelineBucketMs: 100,
      timeline: [10],
    },
    latency: { admission: summary(3, 40), byStatus: {}, admissionToIssued: summary(7, 20) },
    histogram: [],
    settle: { quiet: true, pendingZeroAfterMs: 12, lastIssuedAfterLastAdmittedMs: 8, issuedPerSecond: 400 },
    invariants: [
      { id: 1, name: "never over-issued", pass: true, evidence: [], failures: [] },
      {
        id: 5,
        name: "every request is answered",
        pass: false,
        evidence: [],
        failures: ["2 requests got no answer"],
      },
    ],
    notes: [],
    pass: false,
    ...overrides,
  };
}

test("a run's figures come from its report: throughput, latency, settle, 5xx other than 503, failures", () => {
  const f = figuresOf("system", 1, report(), "");
  assert.equal(f.ok, false);
  assert.equal(f.rps, 100);
  assert.equal(f.p99, 40);
  assert.equal(f.toIssuedP99, 20);
  assert.equal(f.settleMs, 12);
  assert.equal(f.serverSettleMs, 8);
  assert.equal(f.issuedPerSecond, 400);
  assert.equal(f.connectionErrors, 2);
  assert.equal(f.status5xx, 1);
  assert.deepEqual(f.failures, ["5. 2 requests got no answer"]);
  assert.match(line(f), /^system 100 req\/s p99 40 ms settle 12 ms conn-errors 2 FAIL/);
});

test("no report is a failed run that says why, with the last lines of stderr", () => {
  const f = figuresOf("ceiling", 137, undefined, "starting\n(bench killed after 1000 ms)\n");
  assert.equal(f.ok, false);
  assert.ok(Number.isNaN(f.rps));
  assert.match(f.failures[0]!, /no report \(exit 137\): starting \/ \(bench killed after 1000 ms\)/);
});

test("pairs are summarised by medians, the ratio taken within each pair", () => {
  const run = (kind: RunFigures["kind"], rps: number, p99: number, ok = true) =>
    ({ kind, rps, p99, ok }) as RunFigures;
  const s = summarizePairs([
    { ceiling: run("ceiling", 1000, 10), system: run("system", 500, 20) },
    { ceiling: run("ceiling", 2000, 10), system: run("system", 1800, 40) },
    { ceiling: run("ceiling", 4000, 20), system: run("system", 1000, 30, false) },
  ]);
  assert.equal(s.medianCeilingRps, 2000);
  assert.equal(s.medianSystemRps, 1000);
  assert.equal(s.medianRpsRatio, 0.5, "ratios 0.5, 0.9, 0.25: the median pair, not the ratio of medians");
  assert.equal(s.medianP99Ratio, 2);
  assert.equal(s.allSystemRunsPass, false);
});
