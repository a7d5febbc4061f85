import assert from "node:assert/strict";
import { test } from "node:test";
import { RedisKeys } from "../../../../src/adapters/redis/keys.ts";
import { RedisTaskStore } from "../../../../src/adapters/redis/tasks/redis-task-store.ts";
import { message, taskStoreContract } from "../../../contracts/task-store.ts";
import { startOwnRedis } from "../../../helpers/own-redis.ts";
import {
  fileRedisClient,
  redisClient,
  scanKeys,
  skipWithoutRedis,
  testPrefix,
} from "../../../helpers/services.ts";
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
  const keys = new RedisKeys(prefix).tasks;
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

test("redis: a script Redis has forgotten (SCRIPT FLUSH, a restart, a failover) runs through EVAL", {
  skip,
}, async (t) => {
  // A Redis of the test's own: flushing the shared one's scripts would touch other tests.
  const own = await startOwnRedis(t);
  const client = redisClient(t, own.url, { maxRetriesPerRequest: 1 });
  const store = new RedisTaskStore({
    redis: client,
    prefix: "nos",
    retention: { ttlMs: 10_000, deadLetterTtlMs: 10_000 },
  });
  t.after(() => store.close());
  const m = message();
  assert.equal((await store.start(m, "w", 10_000)).kind, "run");
  await client.script("FLUSH");
  assert.equal(await store.renew(m.taskId, 1, "w", 10_000), true);
  assert.equal((await store.succeed(m.taskId, 1, "done"))?.status, "succeeded");
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
