import assert from "node:assert/strict";
import { test } from "node:test";
import { RedisRateLimiter, type ScriptClient } from "../../../src/adapters/redis/rate-limiter.ts";
import { parseRate } from "../../../src/domain/rate-policy.ts";

/** Without Redis (against the real one: rate-limiter.services.test.ts). */
test("fails open: a Redis that errors or hangs lets the claim through and is reported", async () => {
  const errors: string[] = [];
  const broken: ScriptClient = {
    evalsha: async () => {
      throw new Error("connection refused");
    },
    eval: async () => undefined,
  };
  const hanging: ScriptClient = { evalsha: () => new Promise(() => undefined), eval: async () => undefined };
  const onError = (e: Error) => errors.push(e.message);
  const user = parseRate("1/s", "X");
  assert.equal(
    await new RedisRateLimiter({ redis: broken, prefix: "p", user, onError }).check("c", "u", "ip"),
    undefined,
  );
  assert.equal(
    await new RedisRateLimiter({ redis: hanging, prefix: "p", user, onError, timeoutMs: 50 }).check(
      "c",
      "u",
      "ip",
    ),
    undefined,
  );
  assert.deepEqual(errors, ["connection refused", "rate limiter: Redis did not answer in time"]);
});
