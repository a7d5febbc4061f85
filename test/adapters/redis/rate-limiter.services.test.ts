import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { RedisRateLimiter } from "../../../src/adapters/redis/rate-limiter.ts";
import { parseRate } from "../../../src/domain/rate-policy.ts";
import { freePort } from "../../helpers/net.ts";
import { startOwnRedis } from "../../helpers/own-redis.ts";
import { redisClient, scanKeys, skipWithoutRedis, testPrefix } from "../../helpers/services.ts";

/**
 * Against the shared Redis, each test under a key prefix of its own that is
 * deleted afterwards; the script test against a Redis of its own; the
 * fail-open test against a port nothing listens on (it needs no Redis, so it
 * takes no skip, but it needs an ioredis client, which the unit tier does not
 * import).
 */
const skip = await skipWithoutRedis();

test("a burst per campaign and user, then 429 with Retry-After", { skip }, async (t) => {
  const limiter = new RedisRateLimiter({
    redis: redisClient(t),
    prefix: testPrefix(t, "rl"),
    user: parseRate("5/s", "X"),
  });
  for (let i = 0; i < 5; i++)
    assert.equal(await limiter.check("c1", "alice", "ip"), undefined, `try ${i + 1}`);
  assert.equal(await limiter.check("c1", "alice", "ip"), 1);
  assert.equal(await limiter.check("c1", "bob", "ip"), undefined);
  assert.equal(await limiter.check("c2", "alice", "ip"), undefined);
  await sleep(250);
  assert.equal(await limiter.check("c1", "alice", "ip"), undefined, "one interval later");
});

test("two API processes share one budget (two clients, two limiters)", { skip }, async (t) => {
  const prefix = testPrefix(t, "rl");
  const policy = { user: parseRate("10/m", "X") };
  const a = new RedisRateLimiter({ redis: redisClient(t), prefix, ...policy });
  const b = new RedisRateLimiter({ redis: redisClient(t), prefix, ...policy });
  // 40 tries at once, alternating between the two "processes".
  const answers = await Promise.all(
    Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a : b).check("c", "hammer", "ip")),
  );
  assert.equal(answers.filter((x) => x === undefined).length, 10, "exactly the burst got through");
  for (const wait of answers.filter((x) => x !== undefined))
    assert.ok(wait! >= 1 && wait! <= 6, `Retry-After ${wait}`);
});

test("per address across campaigns, all or nothing, and buckets expire once drained", { skip }, async (t) => {
  const prefix = testPrefix(t, "rl");
  const redis = redisClient(t);
  const limiter = new RedisRateLimiter({
    redis,
    prefix,
    user: parseRate("2/s", "X"),
    ip: parseRate("3/m", "X"),
  });
  assert.equal(await limiter.check("c1", "u1", "1.1.1.1"), undefined);
  assert.equal(await limiter.check("c1", "u1", "1.1.1.1"), undefined);
  assert.equal(await limiter.check("c1", "u1", "1.1.1.1"), 1, "user bucket empty");
  assert.equal(
    await limiter.check("c2", "u2", "1.1.1.1"),
    undefined,
    "the refusal did not take from the address",
  );
  const wait = await limiter.check("c3", "u3", "1.1.1.1");
  assert.ok(wait !== undefined && wait > 1 && wait <= 20, `address bucket empty across campaigns (${wait})`);
  assert.equal(await limiter.check("c3", "u3", "2.2.2.2"), undefined);
  const keys = await scanKeys(redis, `${prefix}:*`);
  assert.ok(keys.length >= 3 && keys.every((k) => k.startsWith(`${prefix}:rl:`)), keys.join(" "));
  for (const key of keys) {
    const ttl = await redis.pttl(key);
    assert.ok(ttl > 0 && ttl <= 60_000, `${key} expires (${ttl} ms)`);
  }
});

test("after Redis forgets the script (restart, failover) it is sent again", { skip }, async (t) => {
  // A Redis of the test's own: flushing the shared one's scripts would touch other tests.
  const own = await startOwnRedis(t);
  const client = redisClient(t, own.url, { maxRetriesPerRequest: 1 });
  const limiter = new RedisRateLimiter({ redis: client, prefix: "rl-test", user: parseRate("1/s", "X") });
  assert.equal(await limiter.check("c", "u", "ip"), undefined);
  await client.script("FLUSH");
  assert.equal(await limiter.check("c", "u", "ip"), 1, "counted by the script sent again (EVAL)");
});

test("fails open: a Redis that errors or hangs lets the claim through and is reported", async (t) => {
  const errors: string[] = [];
  const onError = (e: Error) => errors.push(e.message);
  const user = parseRate("1/s", "X");
  const port = await freePort();
  // Nothing listens: with no offline queue a command fails at once; with one it waits (hangs).
  const broken = new Redis({ port, lazyConnect: true, enableOfflineQueue: false, retryStrategy: () => null });
  const hanging = new Redis({ port, lazyConnect: true, retryStrategy: () => 60_000 });
  for (const client of [broken, hanging]) {
    client.on("error", () => undefined);
    t.after(() => client.disconnect());
  }
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
  assert.equal(errors.length, 2, errors.join("; "));
  assert.equal(errors[1], "rate limiter: Redis did not answer in time");
});
