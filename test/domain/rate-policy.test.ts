import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError } from "../../src/config/settings.ts";
import { gcraStep } from "../../src/domain/gcra.ts";
import { parseRate, retryAfterSeconds } from "../../src/domain/rate-policy.ts";

test("rates parse as interval and burst; off turns the limit off", () => {
  assert.deepEqual(parseRate("5/s", "X"), { intervalMs: 200, burst: 5, text: "5/s" });
  assert.deepEqual(parseRate("300/m:20", "X"), { intervalMs: 200, burst: 20, text: "300/m:20" });
  assert.deepEqual(parseRate("2/h", "X"), { intervalMs: 1_800_000, burst: 2, text: "2/h" });
  for (const off of ["off", "0", ""]) assert.equal(parseRate(off, "X"), undefined);
  for (const bad of ["5", "5/d", "-1/s", "0/s", "5/s:0", "five/s", "5/s:", "1.5/s"])
    assert.throws(
      () => parseRate(bad, "RATE_LIMIT_USER"),
      (e: Error) => {
        assert.ok(e instanceof ConfigError);
        assert.match(e.message, /RATE_LIMIT_USER/);
        return true;
      },
    );
});

test("GCRA lets a burst through at once, then one per interval", () => {
  const policy = parseRate("5/s", "X")!;
  let tat: number | undefined;
  const at = (now: number) => {
    const step = gcraStep(tat, now, policy);
    if (step.waitMs === 0) tat = step.nextTat;
    return step.waitMs;
  };
  for (let i = 0; i < 5; i++) assert.equal(at(1000), 0, `request ${i + 1} of the burst`);
  assert.equal(at(1000), 200, "the sixth waits one interval");
  assert.equal(at(1100), 100, "a refused request does not lengthen the wait");
  assert.equal(at(1200), 0, "one interval later, one more");
  assert.equal(at(1200), 200);
  assert.equal(at(10_000), 0, "after a quiet spell the bucket is full again");
  for (let i = 0; i < 4; i++) assert.equal(at(10_000), 0);
  assert.ok(at(10_000) > 0);
});

test("Retry-After is whole seconds, at least 1", () => {
  assert.equal(retryAfterSeconds(1), 1);
  assert.equal(retryAfterSeconds(200), 1);
  assert.equal(retryAfterSeconds(1000), 1);
  assert.equal(retryAfterSeconds(1001), 2);
});

test("GCRA: a fresh bucket with a burst of 1 admits its first request at any fractional time", () => {
  const policy = parseRate("1/s", "X")!;
  // performance.now() values: (now + 1000) - 1000 rounds above now for some of them.
  for (let i = 0; i < 10_000; i++) {
    const now = 500 + i * 0.123456789 + Math.random();
    assert.equal(gcraStep(undefined, now, policy).waitMs, 0, `now = ${now}`);
    assert.equal(gcraStep(now - 1, now, policy).waitMs, 0, "a drained bucket too");
  }
});
