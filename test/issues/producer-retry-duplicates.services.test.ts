import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Producer, stringSerializers } from "@platformatic/kafka";
import { pino } from "pino";
import { endOffsets } from "../../src/adapters/kafka/queue/lag.ts";
import { resolveOptions } from "../../src/adapters/kafka/queue/options.ts";
import { Publisher } from "../../src/adapters/kafka/queue/publisher.ts";
import { kafkaBrokers, skipWithoutKafka, testAdmin, testTopic } from "../helpers/kafka.ts";

/**
 * Found while writing these tests: right after CreateTopics, a produce request
 * can fail for some partitions (no leader yet) and succeed for others; the
 * client retries the whole request, so a plain (non-idempotent) producer
 * writes the partitions that had succeeded again: 240 messages became 480.
 * An idempotent producer resends the same sequence numbers and the broker
 * drops the repeats. stampede's publisher is idempotent (and KafkaQueue.open
 * waits until every partition has a leader before anything is published).
 */
const PARTITIONS = 12;
const COUNT = 240;

async function publishRightAfterCreate(
  t: Parameters<typeof testTopic>[0],
  send: (topic: string, brokers: string[]) => Promise<void>,
) {
  const brokers = await kafkaBrokers();
  const admin = await testAdmin(t);
  const topic = testTopic(t, "dup");
  await admin.createTopics({ topics: [topic], partitions: PARTITIONS, replicas: 1 });
  await send(topic, brokers);
  const ends = await endOffsets(admin, topic);
  return [...ends.values()].reduce((sum, n) => sum + Number(n), 0);
}

describe("produce retries right after topic creation", {
  skip: await skipWithoutKafka(),
  timeout: 120_000,
}, () => {
  test("stampede's idempotent publisher writes every message exactly once", async (t) => {
    for (let round = 0; round < 3; round++) {
      const written = await publishRightAfterCreate(t, async (topic, brokers) => {
        const publisher = new Publisher(
          resolveOptions<string>({
            brokers,
            topic,
            partitions: PARTITIONS,
            group: "unused",
            clientId: "issue-dup",
            codec: { encode: (v) => v, decode: (b) => b.toString() },
            keyOf: (v) => v,
            logger: pino({ level: "silent" }),
            retries: 5,
          }) as never,
        );
        try {
          await publisher.send(Array.from({ length: COUNT }, (_, i) => ({ key: `k-${i}`, value: `v-${i}` })));
        } finally {
          await publisher.close();
        }
      });
      assert.equal(written, COUNT, `round ${round}`);
    }
  });

  test("a plain producer may write them twice (what the idempotent one prevents)", async (t) => {
    const written = await publishRightAfterCreate(t, async (topic, brokers) => {
      const producer = new Producer({
        clientId: "issue-dup-plain",
        bootstrapBrokers: brokers,
        serializers: stringSerializers,
        retries: 5,
      });
      try {
        await producer.send({
          messages: Array.from({ length: COUNT }, (_, i) => ({ topic, key: `k-${i}`, value: `v-${i}` })),
        });
      } finally {
        await producer.close();
      }
    });
    assert.ok(written >= COUNT, "messages lost");
    t.diagnostic(`the plain producer wrote ${written} records for ${COUNT} messages`);
  });
});
