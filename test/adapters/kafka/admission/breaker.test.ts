import assert from "node:assert/strict";
import { test } from "node:test";
import { Breaker } from "../../../../src/adapters/kafka/admission/breaker.ts";

test("closed: everything passes; a failure opens it for baseMs, doubling per failure up to maxMs", () => {
  let now = 0;
  const breaker = new Breaker({ baseMs: 1000, maxMs: 3000, now: () => now });
  assert.ok(breaker.tryPass() && breaker.tryPass());
  breaker.failure();
  assert.equal(breaker.tryPass(), false);
  assert.equal(breaker.retryAfterSec, 1);
  now = 1000;
  assert.equal(breaker.tryPass(), true, "one probe after the wait");
  assert.equal(breaker.tryPass(), false, "only one probe at a time");
  breaker.failure();
  now = 2999;
  assert.equal(breaker.tryPass(), false, "second failure: 2 s");
  now = 3000;
  assert.ok(breaker.tryPass());
  breaker.failure();
  now = 5999;
  assert.equal(breaker.tryPass(), false, "capped at maxMs");
  now = 6000;
  assert.ok(breaker.tryPass());
  breaker.success();
  assert.ok(breaker.tryPass() && breaker.tryPass() && breaker.isClosed, "an acknowledgement closes it");
});

test("a probe that needed no Kafka (a 409, a Redis error) frees the probe slot", () => {
  let now = 0;
  const breaker = new Breaker({ baseMs: 1000, now: () => now });
  breaker.failure();
  now = 1000;
  assert.ok(breaker.tryPass());
  assert.equal(breaker.tryPass(), false);
  breaker.release();
  assert.ok(breaker.tryPass(), "the next claim probes");
  assert.equal(breaker.isClosed, false, "still open: nothing was learned about Kafka");
});
