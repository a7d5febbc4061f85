import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { pino } from "pino";
import { QueueFullError } from "../../../../src/adapters/redis/streams/options.ts";
import { RedisStreamQueue } from "../../../../src/adapters/redis/streams/redis-stream-queue.ts";
import type { Consumer } from "../../../../src/ports/queue.ts";
import { type QueueItem, queueContract } from "../../../contracts/queue.ts";
import { redisClient, skipWithoutRedis, testPrefix } from "../../../helpers/services.ts";
import { eventually } from "../../../helpers/wait.ts";

const skip = await skipWithoutRedis();

type After = { after: (fn: () => Promise<void> | void) => void };
type Job = QueueItem;

const GROUP = "g";
const codec = {
  encode: (v: Job) => JSON.stringify(v),
  decode: (s: string): Job => {
    const v = JSON.parse(s) as Job;
    if (typeof v.n !== "number") throw new Error("unknown layout");
    return v;
  },
};

/** The one place these tests construct a RedisStreamQueue: its own connections, closed when the test ends. */
function queue(
  t: After,
  streams: string[] | (() => Promise<string[]>),
  options: { consumer?: string; claimIdleMs?: number; maxLen?: number } = {},
) {
  const q = new RedisStreamQueue<Job>({
    redis: redisClient(t),
    blocking: redisClient(t),
    streams,
    group: GROUP,
    consumer: options.consumer ?? "c1",
    codec,
    logger: pino({ level: process.env.DEBUG_QUEUE ? "debug" : "silent" }),
    maxLen: options.maxLen ?? 100_000,
    claimIdleMs: options.claimIdleMs ?? 60_000,
    blockMs: 50,
    maintenanceMs: 100,
    refreshMs: 50,
  });
  return q;
}

queueContract("redis streams", async (t) => queue(t, [`${testPrefix(t, "q")}:s`]), {
  acknowledges: "each",
  skip,
});

function consume(
  t: After,
  q: RedisStreamQueue<Job>,
  handler: (batch: Job[]) => Promise<void>,
  batchSize = 10,
): Consumer {
  const consumer = q.consume(handler, { batchSize, flushIntervalMs: 1 });
  t.after(() => consumer.stop());
  return consumer;
}

test("publish, consume in batches, acknowledge: lag drains to 0 and acknowledged entries are trimmed", {
  skip,
}, async (t) => {
  const stream = `${testPrefix(t, "q")}:s`;
  const q = queue(t, [stream]);
  await q.publish(Array.from({ length: 55 }, (_, n) => ({ n })));
  const seen: number[] = [];
  const sizes: number[] = [];
  consume(t, q, async (batch) => {
    sizes.push(batch.length);
    seen.push(...batch.map((j) => j.n));
  });
  await eventually(() => seen.length === 55);
  assert.deepEqual(
    seen.sort((a, b) => a - b),
    Array.from({ length: 55 }, (_, n) => n),
  );
  assert.ok(Math.max(...sizes) <= 10);
  await eventually(async () => (await q.lag())[0]?.lag === 0);
  const redis = redisClient(t);
  await eventually(async () => (await redis.xlen(stream)) === 0, 5000);
});

test("a failing batch stays pending and is retried until it succeeds; nothing is lost or acknowledged early", {
  skip,
}, async (t) => {
  const stream = `${testPrefix(t, "q")}:s`;
  const q = queue(t, [stream]);
  await q.publish([{ n: 1 }, { n: 2 }, { n: 3 }]);
  let calls = 0;
  const done: number[] = [];
  const redis = redisClient(t);
  consume(t, q, async (batch) => {
    calls++;
    if (calls <= 2) {
      const [pending] = (await redis.xpending(stream, GROUP)) as [number];
      assert.equal(pending, 3, "still pending while failing");
      throw new Error("ledger down");
    }
    done.push(...batch.map((j) => j.n));
  });
  await eventually(() => done.length === 3);
  assert.equal(calls, 3);
  await eventually(async () => ((await redis.xpending(stream, GROUP)) as [number])[0] === 0);
});

test("entries left pending by a dead consumer are taken over after the idle time", { skip }, async (t) => {
  const stream = `${testPrefix(t, "q")}:s`;
  const redis = redisClient(t);
  const producer = queue(t, [stream]);
  await redis.xgroup("CREATE", stream, GROUP, "0", "MKSTREAM");
  await producer.publish(Array.from({ length: 5 }, (_, n) => ({ n })));
  // "dead" reads everything and never acknowledges (it was killed).
  await redis.xreadgroup("GROUP", GROUP, "dead", "COUNT", 100, "STREAMS", stream, ">");
  const survivor = queue(t, [stream], { consumer: "alive", claimIdleMs: 300 });
  const got: number[] = [];
  const started = Date.now();
  consume(t, survivor, async (batch) => {
    got.push(...batch.map((j) => j.n));
  });
  await eventually(() => got.length === 5, 10_000);
  assert.ok(Date.now() - started >= 250, "not before the idle time");
  await eventually(async () => ((await redis.xpending(stream, GROUP)) as [number])[0] === 0);
});

test("trimming never drops a pending entry or one not yet delivered", { skip }, async (t) => {
  const stream = `${testPrefix(t, "q")}:s`;
  const redis = redisClient(t);
  const q = queue(t, [stream], { consumer: "alive", claimIdleMs: 600_000 });
  await redis.xgroup("CREATE", stream, GROUP, "0", "MKSTREAM");
  await q.publish([{ n: 0 }, { n: 1 }]);
  // A slow consumer holds the two oldest entries.
  await redis.xreadgroup("GROUP", GROUP, "slow", "COUNT", 2, "STREAMS", stream, ">");
  await q.publish(Array.from({ length: 8 }, (_, i) => ({ n: i + 2 })));
  const got: number[] = [];
  consume(t, q, async (batch) => {
    got.push(...batch.map((j) => j.n));
  });
  await eventually(() => got.length === 8);
  await sleep(400); // several maintenance rounds
  // MINID stops at the oldest pending entry: everything from it on stays.
  assert.deepEqual(
    (await redis.xrange(stream, "-", "+")).map(([, f]) => JSON.parse(f[1]!).n),
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  );
  // A second group that has not read anything yet keeps everything after its position.
  await redis.xgroup("CREATE", stream, "late", "$");
  await q.publish([{ n: 10 }]);
  await eventually(() => got.length === 9);
  // The slow consumer finishes: the head can go, up to what the late group has not read.
  const ids = (await redis.xrange(stream, "-", "+", "COUNT", 2)).map(([id]) => id);
  await redis.xack(stream, GROUP, ...ids);
  await eventually(async () => (await redis.xlen(stream)) === 1, 5000);
  assert.equal(JSON.parse((await redis.xrange(stream, "-", "+"))[0]![1][1]!).n, 10);
});

test("publish past the cap throws QueueFullError and adds nothing", { skip }, async (t) => {
  const stream = `${testPrefix(t, "q")}:s`;
  const q = queue(t, [stream], { maxLen: 3 });
  await q.publish([{ n: 1 }, { n: 2 }, { n: 3 }]);
  await assert.rejects(q.publish([{ n: 4 }]), QueueFullError);
  assert.equal(await redisClient(t).xlen(stream), 3);
});

test("streams listed by a function are picked up as they appear (one stream per campaign)", {
  skip,
}, async (t) => {
  const prefix = testPrefix(t, "q");
  const redis = redisClient(t);
  const q = queue(t, async () => (await redis.smembers(`${prefix}:streams`)).map((s) => `${prefix}:${s}`));
  const got: number[] = [];
  consume(t, q, async (batch) => {
    got.push(...batch.map((j) => j.n));
  });
  await redis.sadd(`${prefix}:streams`, "a");
  await redis.xadd(`${prefix}:a`, "*", "d", JSON.stringify({ n: 1 }));
  await eventually(() => got.length === 1);
  await redis.xadd(`${prefix}:b`, "*", "d", JSON.stringify({ n: 2 }));
  await redis.sadd(`${prefix}:streams`, "b");
  await eventually(() => got.length === 2);
  assert.deepEqual(got, [1, 2]);
});

test("an entry this version cannot decode is left pending, never acknowledged unread", {
  skip,
}, async (t) => {
  const stream = `${testPrefix(t, "q")}:s`;
  const redis = redisClient(t);
  const q = queue(t, [stream]);
  await redis.xgroup("CREATE", stream, GROUP, "0", "MKSTREAM");
  await redis.xadd(stream, "*", "d", JSON.stringify({ future: true }));
  await q.publish([{ n: 7 }]);
  const got: number[] = [];
  consume(t, q, async (batch) => {
    got.push(...batch.map((j) => j.n));
  });
  await eventually(() => got.length === 1);
  await sleep(300);
  const [pending] = (await redis.xpending(stream, GROUP)) as [number];
  assert.equal(pending, 1, "the undecodable entry waits for a newer consumer");
  const [first] = await redis.xrange(stream, "-", "+", "COUNT", 1);
  assert.deepEqual(JSON.parse(first![1][1]!), { future: true }, "and is not trimmed");
});

test("several consume loops on one queue (task workers): each entry handled once, own pending recovered once", {
  skip,
}, async (t) => {
  const stream = `${testPrefix(t, "q")}:s`;
  const redis = redisClient(t);
  await redis.xgroup("CREATE", stream, GROUP, "0", "MKSTREAM");
  const producer = queue(t, [stream]);
  await producer.publish(Array.from({ length: 5 }, (_, n) => ({ n })));
  // A previous life of consumer "w" read these and died before acknowledging.
  await redis.xreadgroup("GROUP", GROUP, "w", "COUNT", 5, "STREAMS", stream, ">");
  await producer.publish(Array.from({ length: 45 }, (_, n) => ({ n: n + 5 })));
  const q = queue(t, [stream], { consumer: "w" });
  const seen: number[] = [];
  for (let i = 0; i < 4; i++)
    consume(
      t,
      q,
      async (batch) => {
        await sleep(5);
        seen.push(...batch.map((j) => j.n));
      },
      1,
    );
  await eventually(() => seen.length >= 50);
  await sleep(200);
  assert.equal(seen.length, 50, "nothing twice");
  assert.equal(new Set(seen).size, 50);
});
