import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { test } from "node:test";
import { parseRetryAfter, retryDelayMs } from "../../../src/workers/webhook/backoff.ts";
import { signPayload, verifySignature } from "../../../src/workers/webhook/signature.ts";

const SECRET = "whsec-0123456789abcdef";
const BODY = '{"deliveryId":"iss_x","claim":{"userId":"ünï"}}';

test("the signature is HMAC-SHA256 over '<t>.<raw body>' and verifies", () => {
  const header = signPayload(SECRET, BODY, 1_900_000_000);
  const expected = createHmac("sha256", SECRET).update(`1900000000.${BODY}`).digest("hex");
  assert.equal(header, `t=1900000000,v1=${expected}`);
  assert.equal(verifySignature(SECRET, header, BODY, { nowSec: 1_900_000_010 }), true);
  assert.equal(verifySignature(SECRET, header, Buffer.from(BODY), { nowSec: 1_900_000_010 }), true);
});

test("a tampered body, another secret, an old timestamp or a garbled header fail", () => {
  const header = signPayload(SECRET, BODY, 1_900_000_000);
  const now = { nowSec: 1_900_000_000 };
  assert.equal(verifySignature(SECRET, header, `${BODY} `, now), false);
  assert.equal(verifySignature("another-secret-0123456789", header, BODY, now), false);
  assert.equal(verifySignature(SECRET, header, BODY, { nowSec: 1_900_000_301 }), false);
  assert.equal(verifySignature(SECRET, header, BODY, { nowSec: 1_900_000_301, toleranceSec: 600 }), true);
  for (const bad of [
    undefined,
    "",
    "t=abc,v1=00",
    "v1=00",
    `t=1900000000,v1=${"0".repeat(64)}`,
    "t=1900000000,v1=zz",
  ])
    assert.equal(verifySignature(SECRET, bad, BODY, now), false, String(bad));
  // Two v1 values (a rotation): either may match.
  const rotated = `${header},v1=${"a".repeat(64)}`;
  assert.equal(verifySignature(SECRET, rotated, BODY, now), true);
});

test("backoff doubles per attempt with jitter, is capped, and honours Retry-After within the cap", () => {
  const policy = { baseMs: 1000, maxMs: 60_000 };
  assert.equal(
    retryDelayMs(policy, 1, undefined, () => 0),
    500,
  );
  assert.equal(
    retryDelayMs(policy, 1, undefined, () => 1),
    1000,
  );
  assert.equal(
    retryDelayMs(policy, 4, undefined, () => 1),
    8000,
  );
  assert.equal(
    retryDelayMs(policy, 30, undefined, () => 1),
    60_000,
  );
  assert.equal(
    retryDelayMs(policy, 1, 30_000, () => 0),
    30_000,
  );
  assert.equal(
    retryDelayMs(policy, 1, 3_600_000, () => 0),
    60_000,
  );
  assert.equal(parseRetryAfter("7", 0), 7000);
  assert.equal(parseRetryAfter(new Date(10_000).toUTCString(), 0), 10_000);
  assert.equal(parseRetryAfter("soon", 0), undefined);
  assert.equal(parseRetryAfter(null, 0), undefined);
});
