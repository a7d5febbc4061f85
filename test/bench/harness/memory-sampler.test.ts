import assert from "node:assert/strict";
import { test } from "node:test";
import { MemorySampler } from "../../../bench/harness/memory-sampler.ts";
import type { Proc } from "../../../bench/harness/processes.ts";

const MB = 1048576;

test("growth fits a line through the samples after the warm-up, per process, in MB per minute", () => {
  const procs = [{ name: "api" }, { name: "worker" }] as Proc[];
  const sampler = new MemorySampler(procs, 5000);
  const t0 = 1_000_000;
  // api: 100 MB for the first (warm-up) minute, then +2 MB/min; worker: flat 50 MB, heap +1 MB/min.
  for (let s = 0; s <= 5 * 60; s += 30) {
    const minutes = s / 60;
    sampler.samples.push({
      at: t0 + s * 1000,
      rss: { api: (minutes < 1 ? 100 : 100 + 2 * (minutes - 1)) * MB, worker: 50 * MB },
      heapUsed: { worker: (20 + minutes) * MB },
      load1: 1,
    });
  }
  sampler.samples.push({ at: t0 + 3_600_000, rss: { api: 999 * MB }, heapUsed: {}, load1: 9 });
  const growth = sampler.growth(t0, t0 + 5 * 60_000, 60_000);
  assert.ok(Math.abs(growth.api!.growthMBPerMin - 2) < 1e-9);
  assert.equal(growth.api!.samplesFitted, 9);
  assert.equal(growth.api!.rssMBPeak, 108, "samples outside the window are left out");
  assert.equal(growth.worker!.growthMBPerMin, 0);
  assert.ok(Math.abs(growth.worker!.heapUsedGrowthMBPerMin - 1) < 1e-9);
  assert.ok(Number.isNaN(growth.api!.heapUsedGrowthMBPerMin), "no heap figures, no line");
  assert.equal(sampler.during(t0, t0 + 5 * 60_000).length, 11);
});
