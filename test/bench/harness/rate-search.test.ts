import assert from "node:assert/strict";
import { test } from "node:test";
import type { RunFigures } from "../../../bench/harness/figures.ts";
import { highestRate } from "../../../bench/harness/rate-search.ts";

/** A server that keeps up to `limit` requests/s: probes below it are fast, above it slow. */
function server(limit: number) {
  const probed: number[] = [];
  const probe = async (rate: number): Promise<RunFigures> => {
    probed.push(rate);
    return { p99: rate <= limit ? 10 : 500 } as RunFigures;
  };
  return { probed, probe, good: (f: RunFigures) => f.p99 < 50 };
}

test("doubles until a probe fails, then bisects three times", async (t) => {
  t.mock.method(process.stdout, "write", () => true);
  const s = server(3000);
  assert.equal(await highestRate({ label: "system", startRate: 1000, ...s }), 3000);
  assert.deepEqual(s.probed, [1000, 2000, 4000, 3000, 3500, 3250]);
});

test("the rate found is within an eighth of the limit, never above it; below the start rate when that fails; 0 when no probe passes", async (t) => {
  t.mock.method(process.stdout, "write", () => true);
  const close = server(1990);
  assert.equal(await highestRate({ label: "system", startRate: 1000, ...close }), 1875);
  const slow = server(600);
  assert.equal(await highestRate({ label: "system", startRate: 1000, ...slow }), 500);
  assert.deepEqual(slow.probed, [1000, 500, 750, 625]);
  const none = server(100);
  assert.equal(await highestRate({ label: "system", startRate: 1000, ...none }), 0);
  assert.deepEqual(none.probed, [1000, 500, 250, 125]);
});

test("a server faster than the cap is reported at the last rate probed under it", async (t) => {
  t.mock.method(process.stdout, "write", () => true);
  const s = server(Number.POSITIVE_INFINITY);
  assert.equal(await highestRate({ label: "ceiling", startRate: 1000, maxRate: 8000, ...s }), 8000);
  assert.deepEqual(s.probed, [1000, 2000, 4000, 8000]);
});
