import assert from "node:assert/strict";
import { test } from "node:test";
import { taskKeys } from "../../../../src/adapters/redis/tasks/keys.ts";
import { RedisTaskStore } from "../../../../src/adapters/redis/tasks/redis-task-store.ts";
import { message, taskStoreContract } from "../../../contracts/task-store.ts";
import { fileRedisClient, scanKeys, skipWithoutRedis, testPrefix } from "../../../helpers/services.ts";
import { eventually } from "../../../helpers/wait.ts";

const skip = await skipWithoutRedis();
const redis = fileRedisClient();

taskStoreContract(
  "redis",
  async (t, retention) => {
    const store = new RedisTaskStore({ redis: redis, prefix: testPrefix(t, "tasks"), retention });
    t.after(() => store.close());
    return store;
  },
  skip,
);

test("redis: finished tasks carry a TTL, queued ones none; keys stay under the prefix", {
  skip,
}, async (t) => {
  const prefix = testPrefix(t, "tasks");
  const store = new RedisTaskStore({
    redis: redis,
    prefix,
    retention: { ttlMs: 50_000, deadLetterTtlMs: 90_000 },
  });
  t.after(() => store.close());
  const keys = taskKeys(prefix);
  const ok = message();
  const bad = message();
  const waiting = message();
  await store.create(waiting);
  for (const m of [ok, bad]) await store.start(m, "w", 10_000);
  await store.succeed(ok.taskId, 1, "r");
  await store.fail(bad.taskId, 1, "e", undefined);
  await store.rememberKey("k", waiting);
  assert.equal(await redis.pttl(keys.task(waiting.taskId)), -1);
  const okTtl = await redis.pttl(keys.task(ok.taskId));
  assert.ok(okTtl > 45_000 && okTtl <= 50_000, `ttl ${okTtl}`);
  const badTtl = await redis.pttl(keys.task(bad.taskId));
  assert.ok(badTtl > 85_000 && badTtl <= 90_000, `ttl ${badTtl}`);
  const all = await scanKeys(redis, `${prefix}:*`);
  assert.ok(all.length >= 4 && all.every((k) => k.startsWith(`${prefix}:`)));
});

test("redis: a script Redis has forgotten (NOSCRIPT, simulated: the Redis is shared) runs through EVAL", {
  skip,
}, async (t) => {
  const store = new RedisTaskStore({
    redis: redis,
    prefix: testPrefix(t, "tasks"),
    retention: { ttlMs: 10_000, deadLetterTtlMs: 10_000 },
  });
  t.after(() => store.close());
  // EVALSHA on a client whose evalsha answers NOSCRIPT must fall back to EVAL.
  const original = redis.evalsha.bind(redis);
  let noscript = 0;
  redis.evalsha = (async () => {
    noscript++;
    throw new Error("NOSCRIPT No matching script. Please use EVAL.");
  }) as never;
  t.after(() => {
    redis.evalsha = original;
  });
  const m = message();
  const started = await store.start(m, "w", 10_000);
  assert.equal(started.kind, "run");
  assert.ok(noscript >= 1);
});

test("redis: a watch in one store instance sees changes made through another (another API instance)", {
  skip,
}, async (t) => {
  const prefix = testPrefix(t, "tasks");
  const retention = { ttlMs: 10_000, deadLetterTtlMs: 10_000 };
  const api = new RedisTaskStore({ redis: redis, prefix, retention });
  const workerRedis = redis.duplicate();
  const worker = new RedisTaskStore({ redis: workerRedis, prefix, retention });
  t.after(async () => {
    await api.close();
    await worker.close();
    workerRedis.disconnect();
  });
  const m = message();
  const seen: string[] = [];
  const unwatch = await api.watch(m.taskId, (task) => seen.push(task.status));
  await worker.start(m, "w", 10_000);
  await worker.succeed(m.taskId, 1, { fine: true });
  await eventually(() => seen.length >= 3, 5000, "three notifications");
  unwatch();
  assert.deepEqual(seen, ["queued", "running", "succeeded"]);
});
