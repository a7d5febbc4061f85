import assert from "node:assert/strict";
import { test } from "node:test";
import { Counter, Histogram, Registry } from "prom-client";
import { FastCounter, FastHistogram } from "../../../src/ops/metrics/fast.ts";

test("FastCounter and FastHistogram print exactly what prom-client's own metrics print", async () => {
  const fast = new Registry();
  const slow = new Registry();
  const buckets = [0.001, 0.01, 0.1, 1];
  const spec = { name: "x_seconds", help: "latency", labelNames: ["route", "method"] as const, buckets };
  const fh = new FastHistogram({ ...spec, registers: [fast] });
  const sh = new Histogram({ ...spec, labelNames: [...spec.labelNames], registers: [slow] });
  const cspec = { name: "x_total", help: "count", labelNames: ["outcome"] as const };
  const fc = new FastCounter({ ...cspec, registers: [fast] });
  const sc = new Counter({ ...cspec, labelNames: [...cspec.labelNames], registers: [slow] });

  const observations: [string, string, number][] = [
    ["/a", "GET", 0.0005],
    ["/a", "GET", 0.001],
    ["/a", "GET", 0.05],
    ["/b/:id", "POST", 3],
    ["/a", "GET", 0.2],
  ];
  for (const [route, method, v] of observations) {
    fh.labels({ route, method }).observe(v);
    sh.labels(route, method).observe(v);
  }
  for (const outcome of ["admitted", "admitted", "sold_out"]) {
    fc.labels({ outcome }).inc();
    sc.labels(outcome).inc();
  }
  fc.labels({ outcome: "admitted" }).inc(5);
  sc.labels("admitted").inc(5);
  assert.equal(await fast.metrics(), await slow.metrics());

  fast.resetMetrics();
  const text = await fast.metrics();
  assert.match(text, /x_total\{outcome="admitted"\} 0/);
  assert.match(text, /x_seconds_count\{route="\/a",method="GET"\} 0/);
});
