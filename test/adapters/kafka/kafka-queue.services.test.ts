import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { pino } from "pino";
import { KafkaQueue } from "../../../src/adapters/kafka/queue/kafka-queue.ts";
import type { KafkaQueueOptions } from "../../../src/adapters/kafka/queue/options.ts";
import { type QueueItem, queueContract } from "../../contracts/queue.ts";
import { kafkaBrokers, skipWithoutKafka, testAdmin, testGroup, testTopic } from "../../helpers/kafka.ts";
import { eventually } from "../../helpers/wait.ts";

interface Item {
  user: string;
  n: number;
}

type After = { after: (fn: () => Promise<void> | void) => void };

/**
 * The one place these tests construct a KafkaQueue: JSON values keyed by
 * their `user`, a group of the test's own, closed when the test ends.
 */
async function openQueue<T = Item>(t: After, overrides: Partial<KafkaQueueOptions<T>> & { topic: string }) {
  const queue = await KafkaQueue.open<T>({
    brokers: await kafkaBrokers(),
    partitions: 4,
    group: overrides.group ?? testGroup(t),
    clientId: "stampede-test",
    codec: { encode: (v) => JSON.stringify(v), decode: (b) => JSON.parse(b.toString()) as T },
    keyOf: (v) => `campaign:${(v as Partial<Item>).user}`,
    logger: pino({ level: "silent" }),
    sessionTimeoutMs: 6000,
    ...overrides,
  });
  t.after(() => queue.close());
  return queue;
}

const items = (users: number, perUser: number): Item[] =>
  Array.from({ length: users * perUser }, (_, i) => ({ user: `u${i % users}`, n: Math.floor(i / users) }));

const skip = await skipWithoutKafka();

/** One partition: the contract's "never past a running batch" is about one partition's order. */
queueContract("kafka", (t) => openQueue<QueueItem>(t, { topic: testTopic(t), partitions: 1 }), {
  acknowledges: "prefix",
  skip,
});

describe("KafkaQueue on a real broker", { skip, timeout: 120_000 }, () => {
  test("creates the topic with the configured partitions, once, even when two processes start together", async (t) => {
    const topic = testTopic(t);
    const [a, b] = await Promise.all([
      openQueue(t, { topic, partitions: 7 }),
      openQueue(t, { topic, partitions: 7 }),
    ]);
    const described = await a.describeTopic();
    assert.equal(described?.partitions, 7);
    assert.equal(described?.replicationFactor, 1, "one broker: one replica");
    assert.equal(described?.minInsyncReplicas, 1);
    // An existing topic keeps its partitions whatever a later process asks for.
    const c = await openQueue(t, { topic, partitions: 3 });
    assert.equal((await c.describeTopic())?.partitions, 7);
    assert.equal((await b.lag()).length, 7);
  });

  test("delivers every value; one key's values land on one partition, in publish order", async (t) => {
    const topic = testTopic(t);
    const queue = await openQueue(t, { topic });
    const seen: Item[] = [];
    const consumer = queue.consume(
      async (batch) => {
        seen.push(...batch);
      },
      { batchSize: 50, flushIntervalMs: 2 },
    );
    t.after(() => consumer.stop());
    const all = items(40, 5);
    // Published in several concurrent calls, like concurrent API requests.
    for (let round = 0; round < 5; round++)
      await Promise.all(all.filter((v) => v.n === round).map((v) => queue.publish([v])));
    await eventually(() => seen.length >= all.length, 30_000);
    assert.equal(seen.length, all.length, "nothing delivered twice without a failure");
    const byUser = new Map<string, number[]>();
    for (const v of seen) byUser.set(v.user, [...(byUser.get(v.user) ?? []), v.n]);
    for (const [user, ns] of byUser) assert.deepEqual(ns, [0, 1, 2, 3, 4], `order of ${user}`);
    // Keys spread over the partitions (40 users, 4 partitions).
    const admin = await testAdmin(t);
    const [listed] = await admin.listOffsets({
      topics: [
        {
          name: topic,
          partitions: [0, 1, 2, 3].map((partitionIndex) => ({ partitionIndex, timestamp: -1n })),
        },
      ],
    });
    const filled = listed!.partitions.filter((p) => p.offset > 0n).length;
    assert.ok(filled >= 3, `only ${filled} partitions used`);
  });

  test("a consumer stopped with its batch unfinished commits nothing; the next member gets the batch", async (t) => {
    const topic = testTopic(t);
    const group = testGroup(t);
    const queue = await openQueue(t, { topic, group });
    await queue.publish(items(30, 1));
    let started!: () => void;
    const inHand = new Promise<void>((resolve) => {
      started = resolve;
    });
    const first = queue.consume(
      async () => {
        started();
        throw new Error("never succeeds");
      },
      { batchSize: 100, flushIntervalMs: 20 },
    );
    await inHand;
    await first.stop();
    const again: Item[] = [];
    const second = queue.consume(
      async (batch) => {
        again.push(...batch);
      },
      { batchSize: 100, flushIntervalMs: 20 },
    );
    t.after(() => second.stop());
    await eventually(() => new Set(again.map((v) => v.user)).size === 30, 30_000);
  });

  test("members joining and leaving mid-stream lose nothing", async (t) => {
    const topic = testTopic(t);
    const group = testGroup(t);
    const queue = await openQueue(t, { topic, group, partitions: 6 });
    const handled = new Map<string, number>();
    const handler = (who: string) => async (batch: Item[]) => {
      await sleep(5);
      for (const v of batch) handled.set(`${v.user}/${v.n}`, (handled.get(`${v.user}/${v.n}`) ?? 0) + 1);
      void who;
    };
    const all = items(100, 10);
    const a = queue.consume(handler("a"), { batchSize: 20, flushIntervalMs: 2 });
    const publishing = (async () => {
      for (let round = 0; round < 10; round++) {
        await queue.publish(all.filter((v) => v.n === round));
        await sleep(300);
      }
    })();
    await sleep(800);
    const b = queue.consume(handler("b"), { batchSize: 20, flushIntervalMs: 2 });
    await sleep(1200);
    await a.stop(); // leaves the group: b takes every partition
    const c = queue.consume(handler("c"), { batchSize: 20, flushIntervalMs: 2 });
    t.after(() => Promise.all([b.stop(), c.stop()]));
    await publishing;
    await eventually(() => handled.size === all.length, 60_000);
    await eventually(async () => (await queue.lag()).every((p) => p.lag === 0), 30_000);
    const twice = [...handled.values()].filter((n) => n > 1).length;
    t.diagnostic(
      `${twice} of ${all.length} values redelivered around the rebalances (the ledger dedupes these)`,
    );
  });

  test("lag() reports the group's lag per partition; waitUntilConsumed waits for the end of the topic", async (t) => {
    const topic = testTopic(t);
    const queue = await openQueue(t, { topic, partitions: 3 });
    await queue.publish(items(12, 2));
    const lag = await queue.lag();
    assert.deepEqual(
      lag.map((p) => p.source),
      [`${topic}/0`, `${topic}/1`, `${topic}/2`],
    );
    assert.equal(
      lag.reduce((sum, p) => sum + p.lag, 0),
      24,
      "a group that never committed lags by everything",
    );
    let waited = false;
    const waiting = queue.waitUntilConsumed({ settleMs: 0, pollMs: 50 }).then(() => {
      waited = true;
    });
    await sleep(500);
    assert.equal(waited, false, "returned before anything was consumed");
    const consumer = queue.consume(async () => undefined, { batchSize: 100, flushIntervalMs: 2 });
    t.after(() => consumer.stop());
    await waiting;
    assert.deepEqual(
      (await queue.lag()).map((p) => p.lag),
      [0, 0, 0],
    );
  });
});
