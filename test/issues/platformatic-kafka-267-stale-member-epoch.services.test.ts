import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  Consumer,
  type MessagesStream,
  Producer,
  stringDeserializers,
  stringSerializers,
} from "@platformatic/kafka";
import { pino } from "pino";
import { KafkaQueue } from "../../src/adapters/kafka/queue/kafka-queue.ts";
import { kafkaBrokers, skipWithoutKafka, testAdmin, testGroup, testTopic } from "../helpers/kafka.ts";
import { eventually } from "../helpers/wait.ts";

/**
 * platformatic/kafka#267: with the KIP-848 group protocol, an OffsetFetch
 * answered STALE_MEMBER_EPOCH while many consumers join at once made a
 * consumer start from its fallback offset (the latest) instead of the
 * committed one: everything published while no consumer ran was skipped.
 * The locked client version (2.12.1) retries the fetch after a heartbeat.
 *
 * Here: offsets are committed on every partition, the consumers stop,
 * messages are published while none runs, then several consumers start at
 * the same moment; every message published meanwhile must be read. Checked
 * with the client directly (the protocol of the report) and with stampede's
 * KafkaQueue (classic protocol, fallback "earliest": the same fault would
 * cost redelivery, not loss).
 */
const PARTITIONS = 12;
const CONSUMERS = 4;

async function publish(brokers: string[], topic: string, prefix: string, count: number) {
  // Idempotent: a plain producer may write a batch twice when it retries right
  // after the topic was created (test/issues/producer-retry-duplicates.test.ts).
  const producer = new Producer({
    clientId: "issue-267",
    bootstrapBrokers: brokers,
    serializers: stringSerializers,
    idempotent: true,
    retries: 5,
  });
  try {
    await producer.send({
      // Explicit partitions: every partition gets messages, so every partition has a
      // committed offset and the fallback ("latest") is never legitimately used.
      messages: Array.from({ length: count }, (_, i) => ({
        topic,
        partition: i % PARTITIONS,
        key: `${prefix}-${i}`,
        value: `${prefix}-${i}`,
      })),
    });
  } finally {
    await producer.close();
  }
}

describe("platformatic/kafka#267: consumers joining together resume from committed offsets", {
  skip: await skipWithoutKafka(),
  timeout: 180_000,
}, () => {
  test("with the consumer group protocol (KIP-848) and fallback 'latest', as reported", async (t) => {
    const brokers = await kafkaBrokers();
    const admin = await testAdmin(t);
    const topic = testTopic(t, "i267");
    const group = testGroup(t, "g267");
    await admin.createTopics({ topics: [topic], partitions: PARTITIONS, replicas: 1 });
    await publish(brokers, topic, "before", 240);

    const newConsumer = (i: number) =>
      new Consumer({
        clientId: `issue-267-${i}`,
        groupId: group,
        groupProtocol: "consumer",
        bootstrapBrokers: brokers,
        deserializers: stringDeserializers,
        autocommit: false,
      });
    const read = async (
      consumers: Consumer<string, string, string, string>[],
      until: (seen: Set<string>) => boolean,
    ) => {
      const seen = new Set<string>();
      const streams: MessagesStream<string, string, string, string>[] = await Promise.all(
        consumers.map((c) =>
          c.consume({ topics: [topic], mode: "committed", fallbackMode: "latest", maxWaitTime: 200 }),
        ),
      );
      for (const [i, stream] of streams.entries())
        stream.on("data", (m) => {
          seen.add(m.value);
          void consumers[i]!.commit({
            offsets: [{ topic, partition: m.partition, offset: m.offset + 1n, leaderEpoch: m.leaderEpoch }],
          }).catch(() => undefined);
        });
      await eventually(() => until(seen), 60_000);
      return seen;
    };

    // First run: one consumer reads (from the earliest) and commits everything.
    const first = newConsumer(0);
    const firstStream = await first.consume({ topics: [topic], mode: "earliest", maxWaitTime: 200 });
    const committed = new Set<string>();
    for await (const m of firstStream) {
      await first.commit({
        offsets: [{ topic, partition: m.partition, offset: m.offset + 1n, leaderEpoch: m.leaderEpoch }],
      });
      committed.add(m.value);
      if (committed.size === 240) break;
    }
    await first.close(true);
    const groupOffsets = await admin.listConsumerGroupOffsets({ groups: [group] });
    assert.equal(groupOffsets[0]?.topics[0]?.partitions.length, PARTITIONS, "every partition committed");

    // Published while no consumer runs.
    await publish(brokers, topic, "while-down", 240);

    // Several consumers join at once (the report's scale-up).
    const consumers = Array.from({ length: CONSUMERS }, (_, i) => newConsumer(i + 1));
    t.after(() => Promise.all(consumers.map((c) => c.close(true).catch(() => undefined))));
    const seen = await read(
      consumers,
      (s) => [...s].filter((v) => v.startsWith("while-down")).length === 240,
    );
    assert.equal(
      [...seen].filter((v) => v.startsWith("before")).length,
      0,
      "read from before the committed offsets",
    );
  });

  test("stampede's KafkaQueue: members starting together read everything published while none ran", async (t) => {
    const brokers = await kafkaBrokers();
    const topic = testTopic(t, "q267");
    const group = testGroup(t, "q267");
    const open = () =>
      KafkaQueue.open<string>({
        brokers,
        topic,
        partitions: PARTITIONS,
        group,
        clientId: "issue-267",
        codec: { encode: (v) => v, decode: (b) => b.toString() },
        keyOf: (v) => v,
        logger: pino({ level: "silent" }),
      });
    const queue = await open();
    t.after(() => queue.close());
    // Published before any member of the group ever joined: read from the earliest, not skipped.
    await queue.publish(Array.from({ length: 120 }, (_, i) => `first-${i}`));
    const seenFirst = new Set<string>();
    const c0 = queue.consume(
      async (batch) => {
        for (const v of batch) seenFirst.add(v);
      },
      { batchSize: 50, flushIntervalMs: 2 },
    );
    await eventually(() => seenFirst.size === 120, 60_000);
    await eventually(async () => (await queue.lag()).every((p) => p.lag === 0), 30_000);
    await c0.stop();

    await queue.publish(Array.from({ length: 240 }, (_, i) => `later-${i}`));
    const seen = new Set<string>();
    const members = await Promise.all(
      Array.from({ length: CONSUMERS }, async () => {
        const q = await open();
        t.after(() => q.close());
        return q.consume(
          async (batch) => {
            for (const v of batch) seen.add(v);
          },
          { batchSize: 50, flushIntervalMs: 2 },
        );
      }),
    );
    t.after(() => Promise.all(members.map((m) => m.stop())));
    await eventually(() => [...seen].filter((v) => v.startsWith("later")).length === 240, 60_000);
  });
});
