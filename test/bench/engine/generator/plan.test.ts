import assert from "node:assert/strict";
import { test } from "node:test";
import { buildPlan, claimRequest, minUserIdLength, userId } from "../../../../bench/engine/generator/plan.ts";

test("without re-sends every user asks once, in order", () => {
  assert.deepEqual([...buildPlan({ users: 5, duplicates: 0, seed: 1 })], [0, 1, 2, 3, 4]);
});

test("re-sends add the given share of requests, every user still asks at least once, and the seed fixes the order", () => {
  const plan = buildPlan({ users: 1000, duplicates: 0.1, seed: 7 });
  assert.equal(plan.length, 1100);
  const seen = new Set(plan);
  assert.equal(seen.size, 1000);
  assert.deepEqual(plan, buildPlan({ users: 1000, duplicates: 0.1, seed: 7 }));
  assert.notDeepEqual(plan, buildPlan({ users: 1000, duplicates: 0.1, seed: 8 }));
});

test("user ids have the asked length and are distinct", () => {
  assert.equal(userId(0, 16), "u000000000000000");
  assert.equal(userId(35, 4), "u00z");
  assert.equal(userId(999_999, 16).length, 16);
  assert.throws(() => userId(36 * 36, 3), RangeError);
  assert.equal(minUserIdLength(1_000_000), 5);
  assert.equal(minUserIdLength(1), 2);
});

test("a claim request is well-formed HTTP/1.1 with a correct content-length", () => {
  const raw = claimRequest("127.0.0.1:8080", "/v1/campaigns/c/claims", "u01", "k-u01");
  const [head, body] = raw.split("\r\n\r\n");
  assert.equal(body, '{"userId":"u01"}');
  assert.match(head!, /^POST \/v1\/campaigns\/c\/claims HTTP\/1\.1\r\n/);
  assert.match(head!, new RegExp(`content-length: ${body!.length}`));
  assert.match(head!, /idempotency-key: k-u01/);
});
