import assert from "node:assert/strict";
import { test } from "node:test";
import { readinessOf } from "../../src/runtime/readiness.ts";

test("readiness: every probe at once, each within its deadline; a hanging dependency is not ready, in time", async () => {
  const readiness = readinessOf(
    [
      { name: "fine", probe: async () => undefined },
      { name: "refusing", probe: async () => Promise.reject(new Error("connection refused")) },
      { name: "hanging", probe: () => new Promise<void>(() => undefined) },
    ],
    100,
  );
  const started = performance.now();
  const statuses = await readiness();
  const tookMs = performance.now() - started;
  assert.deepEqual(statuses, [
    { name: "fine", ok: true },
    { name: "refusing", ok: false, error: "connection refused" },
    { name: "hanging", ok: false, error: "no answer within 100 ms" },
  ]);
  assert.ok(tookMs < 1000, `answered in ${tookMs} ms`);
});
