import assert from "node:assert/strict";
import { after, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { pino } from "pino";
import type { RedisAdmission } from "../../../src/adapters/redis/admission/redis-admission.ts";
import { countCommands } from "../../../src/adapters/redis/command-count.ts";
import { redisConnection } from "../../../src/adapters/redis/connection.ts";
import { campaignTag, RedisKeys } from "../../../src/adapters/redis/keys.ts";
import { groupBySlot, keySlot, masterNodes, nodeFor } from "../../../src/adapters/redis/nodes.ts";
import { RedisRateLimiter } from "../../../src/adapters/redis/rate-limiter.ts";
import { ReplicaWait } from "../../../src/adapters/redis/replicas/replica-wait.ts";
import { ReplicatedAdmission } from "../../../src/adapters/redis/replicas/replicated-admission.ts";
import { redisMemorySource } from "../../../src/adapters/redis/stats/memory.ts";
import { streamSink } from "../../../src/adapters/redis/streams/claims-sink.ts";
import { RedisStreamQueue } from "../../../src/adapters/redis/streams/redis-stream-queue.ts";
import { RedisTaskStore } from "../../../src/adapters/redis/tasks/redis-task-store.ts";
import { StampedeError } from "../../../src/domain/errors.ts";
import { parseRate } from "../../../src/domain/rate-policy.ts";
import { redisCheck } from "../../../src/ops/doctor/checks/redis.ts";
import { Metrics } from "../../../src/ops/metrics/metrics.ts";
import { checkRedisAtStart } from "../../../src/runtime/start-checks.ts";
import { admissionContract } from "../../contracts/admission.ts";
import { connected, redisHarness } from "../../contracts/admission-redis-harness.ts";
import { taskStoreContract } from "../../contracts/task-store.ts";
import { startRedisCluster } from "../../helpers/redis-cluster.ts";
import { skipWithoutServices, testPrefix, uniqueName } from "../../helpers/services.ts";

/**
 * The Redis adapter on a Redis Cluster (3 masters, 3 replicas of this file's
 * own): every script and multi-key command touches one slot. The admission
 * and task store contracts run whole against it; the streams queue reads
 * streams of several slots; WAIT, the memory report, the doctor and the
 * start checks look at every master.
 */
const skip = await skipWithoutServices();
const cluster = skip ? undefined : await startRedisCluster({ after });
const url = cluster?.url ?? "";
const logger = pino({ level: "silent" });

admissionContract(
  "redis cluster (stream sink)",
  (t, options) =>
    redisHarness(t, (redis, keys) => streamSink({ redis, keys, cap: 100_000 }), undefined, {
      ...options,
      url,
    }),
  skip,
);

// REDIS_WAIT_REPLICAS=1: every answer the port gives, holds included, through WAIT on the campaign's master.
admissionContract(
  "redis cluster, REDIS_WAIT_REPLICAS=1",
  (t, options) =>
    redisHarness(
      t,
      (redis, keys) => streamSink({ redis, keys, cap: 100_000 }),
      (inner, redis, keys) =>
        new ReplicatedAdmission({
          inner,
          keys,
          wait: new ReplicaWait({ redis, replicas: 1, timeoutMs: 2000 }),
        }),
      { ...options, url },
    ),
  skip,
);

taskStoreContract(
  "redis cluster",
  async (t, retention) => {
    const store = new RedisTaskStore({
      redis: await connected(t, url),
      prefix: testPrefix(t, "tasks", url),
      retention,
    });
    t.after(() => store.close());
    return store;
  },
  skip,
);

test("a campaign's keys share one slot, the task store's too, and CLUSTER KEYSLOT agrees", {
  skip,
}, async () => {
  const keys = new RedisKeys("p");
  for (const id of ["summer", "drop-1", "é"]) {
    const k = keys.campaign(id);
    const all = [
      k.state,
      k.holders,
      k.claims,
      k.stream,
      k.outbox,
      k.free,
      k.expiries,
      k.lock,
      k.noIdempotency,
      k.idempotency("u", "key"),
      k.rateUser("u"),
      k.rateIp("10.0.0.1"),
    ];
    assert.equal(groupBySlot(all).length, 1, id);
    assert.equal(await cluster!.keySlot(k.state), keySlot(k.state));
    assert.equal(keySlot(k.state), keySlot(`{${campaignTag(id)}}`));
  }
  const t = keys.tasks;
  assert.equal(groupBySlot([t.task("a"), t.task("b"), t.due, t.dead]).length, 1);
});

test("the streams queue consumes streams of three slots (one XREADGROUP per slot, none blocking)", {
  skip,
}, async (t) => {
  const prefix = testPrefix(t, "streams", url);
  const keys = new RedisKeys(prefix);
  const streams = ["a", "b", "c", "d", "e", "f"].map((id) => keys.campaign(id).stream);
  assert.ok(groupBySlot(streams).length >= 3);
  const redis = await connected(t, url);
  const queue = new RedisStreamQueue<{ n: number; s: string }>({
    redis,
    blocking: redis,
    streams: async () => streams,
    streamFor: (v) => v.s,
    group: "g",
    consumer: "c1",
    codec: { encode: (v) => JSON.stringify(v), decode: (d) => JSON.parse(d) as { n: number; s: string } },
    logger,
    maxLen: 100_000,
    claimIdleMs: 60_000,
    blockMs: 50,
    refreshMs: 50,
    replicas: { count: 1, timeoutMs: 1000 },
  });
  const seen: number[] = [];
  const consumer = queue.consume(
    async (batch) => {
      for (const v of batch) seen.push(v.n);
    },
    { batchSize: 50, flushIntervalMs: 0 },
  );
  t.after(() => consumer.stop());
  await queue.publish(Array.from({ length: 300 }, (_, n) => ({ n, s: streams[n % streams.length]! })));
  for (let i = 0; i < 100 && seen.length < 300; i++) await sleep(50);
  assert.deepEqual(
    [...seen].sort((a, b) => a - b),
    Array.from({ length: 300 }, (_, n) => n),
  );
  assert.deepEqual(
    (await queue.lag()).map((l) => l.lag),
    streams.map(() => 0),
  );
});

test("ReplicaWait: WAIT on the key's master; more replicas than there are answers 503", {
  skip,
}, async (t) => {
  const redis = await connected(t, url);
  const key = `${uniqueName("wait")}:{x}`;
  assert.ok(nodeFor(redis, key), "the client knows the slot's master");
  await redis.set(key, "1", "PX", 60_000);
  await new ReplicaWait({ redis, replicas: 1, timeoutMs: 2000 }).after(key);
  const tooMany = new ReplicaWait({ redis, replicas: 2, timeoutMs: 100 });
  await assert.rejects(
    Promise.all([tooMany.after(key), tooMany.after(key)]),
    (error) => error instanceof StampedeError && error.code === "unavailable" && error.retryAfter === 1,
  );
});

test("REDIS_WAIT_REPLICAS and holds: a confirm no replica confirms is 503 and stands; asked again, 200 once replicated", {
  skip,
}, async (t) => {
  // Two stores over one RedisAdmission: one waits for more replicas than a master has (no WAIT
  // can succeed), the other for the one it has.
  let replicated: ReplicatedAdmission | undefined;
  let inner: RedisAdmission | undefined;
  const h = await redisHarness(
    t,
    (redis, keys) => streamSink({ redis, keys, cap: 100_000 }),
    (store, redis, keys) => {
      inner = store;
      replicated = new ReplicatedAdmission({
        inner: store,
        keys,
        wait: new ReplicaWait({ redis, replicas: 1, timeoutMs: 2000 }),
      });
      return new ReplicatedAdmission({
        inner: store,
        keys,
        wait: new ReplicaWait({ redis, replicas: 2, timeoutMs: 100 }),
      });
    },
    { url },
  );
  const id = `c-${uniqueName("hold")}`;
  await h.create({
    id,
    name: "holds",
    stock: 2,
    perUserLimit: 1,
    startsAt: null,
    endsAt: null,
    createdAt: Date.now(),
    holdSeconds: 60,
  });
  const unavailable = (error: unknown) => error instanceof StampedeError && error.code === "unavailable";
  // The admission stands without its 202, as after any 503.
  await assert.rejects(h.store.admit({ campaignId: id, userId: "alice" }), unavailable);
  const again = await replicated!.admit({ campaignId: id, userId: "alice" });
  assert.equal(again.kind, "already_claimed");
  const claim = (again as { claim: { claimId: string } }).claim;
  await assert.rejects(h.store.confirm(claim.claimId), unavailable);
  assert.equal((await inner!.getClaim(claim.claimId))?.status, "issued", "the confirm stands in Redis");
  const confirmed = await replicated!.confirm(claim.claimId);
  assert.equal(confirmed.kind, "confirmed");
  assert.equal((confirmed as { replayed: boolean }).replayed, true);
  await assert.rejects(h.store.release(claim.claimId), unavailable);
  assert.equal((await replicated!.release(claim.claimId)).kind, "already_confirmed");
});

test("stampede_redis_commands_total on a cluster: each command once, auto-pipelined per node or sent to one node (WAIT)", {
  skip,
}, async (t) => {
  const redis = await connected(t, url);
  // Every master's connection up first (its ready check is a command too).
  await Promise.all(masterNodes(redis).map((node) => node.ping()));
  const metrics = new Metrics({ defaultMetrics: false });
  countCommands(redis, metrics.redisCommandCounter("api", "commands"));
  const prefix = testPrefix(t, "count", url);
  const keys = Array.from({ length: 50 }, (_, i) => `${prefix}:k${i}`);
  assert.ok(groupBySlot(keys).length > 3, "keys on every master");
  await Promise.all(keys.map((key, i) => redis.set(key, i)));
  await redis.get(keys[0]!);
  await new ReplicaWait({ redis, replicas: 1, timeoutMs: 2000 }).after(keys[0]!);
  // 50 SETs, a GET and a WAIT: 52. The client may add a slots refresh or a redirected retry of its
  // own when the cluster has just moved (a test before this one kills masters); counted twice, it
  // would be 100 and more.
  const counted = Number(
    /stampede_redis_commands_total\{role="api",connection="commands"\} (\d+)/.exec(await metrics.text())?.[1],
  );
  assert.ok(counted >= 52 && counted <= 55, `${counted} commands counted for 52 sent`);
});

test("the rate limiter's two buckets live in two slots: both count, and a refusal says when", {
  skip,
}, async (t) => {
  const limiter = new RedisRateLimiter({
    redis: await connected(t, url),
    prefix: testPrefix(t, "rl", url),
    user: parseRate("1/s:2", "RATE_LIMIT_USER"),
    ip: parseRate("1/s:3", "RATE_LIMIT_IP"),
    onError: (error) => assert.fail(error),
  });
  assert.equal(await limiter.check("c", "alice", "10.0.0.1"), undefined);
  assert.equal(await limiter.check("c", "alice", "10.0.0.1"), undefined);
  assert.ok((await limiter.check("c", "alice", "10.0.0.1"))! >= 1, "alice's bucket is empty");
  assert.equal(await limiter.check("c", "bob", "10.0.0.1"), undefined, "the address has one left");
  assert.ok((await limiter.check("c", "carol", "10.0.0.1"))! >= 1, "the address's bucket is empty");
});

test("the memory report, the doctor and the start checks read every master", { skip }, async (t) => {
  const redis = await connected(t, url);
  assert.equal(masterNodes(redis).length, 3);
  const prefix = testPrefix(t, "mem", url);
  for (const id of ["a", "b", "c", "d"]) await redis.hset(new RedisKeys(prefix).campaign(id).state, "x", "1");
  const report = (await redisMemorySource(redis, `${prefix}:`).collect()) as {
    nodes: Record<string, unknown>;
    keyFamilies: { scannedKeys: number };
    info: { masters: number };
  };
  assert.equal(Object.keys(report.nodes).length, 3);
  assert.equal(report.keyFamilies.scannedKeys, 4);
  assert.equal(report.info.masters, 3);

  const verdicts = await redisCheck({ url, prefix: `${prefix}:`, queue: "redis", waitReplicas: 1 }).run();
  const find = (name: string) => verdicts.filter((v) => v.name === name);
  assert.deepEqual(
    find("redis-cluster").map((v) => v.status),
    ["ok"],
  );
  assert.match(find("redis")[0]!.message, /^every master answers, Redis/);
  assert.deepEqual(
    find("redis-replicas").map((v) => [v.status, v.message.slice(0, 26)]),
    [["ok", "every master: 1 replica(s)"]],
  );
  const tooMany = await redisCheck({ url, prefix: `${prefix}:`, queue: "redis", waitReplicas: 2 }).run();
  assert.equal(tooMany.find((v) => v.name === "redis-replicas")?.status, "fail");

  const atStart = await checkRedisAtStart(redis, "redis", 2);
  assert.equal(
    atStart.find((v) => v.name === "redis-replicas")?.status,
    "warn",
    "a warning at start, never a refusal",
  );
});

test("a -n script through auto-pipelining reaches its keys' nodes (not the node of its key count)", {
  skip,
}, async (t) => {
  const redis = redisConnection({
    url,
    name: "stampede-test",
    use: "commands",
    logger,
    commandTimeoutMs: 5000,
    connectTimeoutMs: 5000,
  });
  t.after(() => redis.disconnect());
  await redis.connect();
  const limiter = new RedisRateLimiter({
    redis,
    prefix: testPrefix(t, "rl2", url),
    user: parseRate("1000/s:1000", "RATE_LIMIT_USER"),
    onError: (error) => assert.fail(error),
  });
  // Many at once, so that they share node pipelines with each other.
  const answers = await Promise.all(
    Array.from({ length: 300 }, (_, i) => limiter.check(`c${i % 7}`, `u${i}`, "10.0.0.2")),
  );
  assert.ok(answers.every((a) => a === undefined));
});
