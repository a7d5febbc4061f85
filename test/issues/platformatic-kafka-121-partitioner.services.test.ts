import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { describe, test } from "node:test";
import { Consumer, compatibilityPartitioner, defaultPartitioner } from "@platformatic/kafka";
import { pino } from "pino";
import { KafkaQueue } from "../../src/adapters/kafka/queue/kafka-queue.ts";
import {
  KAFKA_SCRIPT,
  kafkaBrokers,
  skipWithoutKafka,
  testAdmin,
  testGroup,
  testTopic,
} from "../helpers/kafka.ts";

/**
 * platformatic/kafka#121: the client's default partitioner takes
 * `murmur2(key) >>> 0`, Java's `murmur2(key) & 0x7fffffff`; for keys whose
 * hash is negative they pick different partitions. stampede keys claims by
 * campaign and user so that one user's claims stay on one partition, in
 * order; it uses the Java-compatible partitioner so that any other producer
 * (Java tools, another client) agrees. Checked here against the real Java
 * producer on the real broker.
 */
const PARTITIONS = 12;
const KEYS = Array.from({ length: 60 }, (_, i) => `campaign-${i % 3}:user-${i}`);

async function partitionsChosenBy(
  topic: string,
  brokers: string[],
  group: string,
): Promise<Map<string, number>> {
  const consumer = new Consumer({
    clientId: "issue-121",
    groupId: group,
    bootstrapBrokers: brokers,
    autocommit: false,
  });
  try {
    const stream = await consumer.consume({ topics: [topic], mode: "earliest", maxWaitTime: 200 });
    const seen = new Map<string, number>();
    for await (const message of stream) {
      seen.set(message.key.toString(), message.partition);
      if (seen.size === KEYS.length) break;
    }
    return seen;
  } finally {
    await consumer.close(true);
  }
}

describe("platformatic/kafka#121: keyed partitioning agrees with Java", {
  skip: await skipWithoutKafka(),
  timeout: 120_000,
}, () => {
  test("stampede's producer puts every key on the partition Java's producer picks", async (t) => {
    const brokers = await kafkaBrokers();
    const admin = await testAdmin(t);
    const javaTopic = testTopic(t, "java");
    await admin.createTopics({ topics: [javaTopic], partitions: PARTITIONS, replicas: 1 });
    const input = KEYS.map((k) => `${k}\t${k}`).join("\n");
    const child = execFile(KAFKA_SCRIPT, [
      "run-class",
      "org.apache.kafka.tools.ConsoleProducer",
      "--bootstrap-server",
      brokers[0]!,
      "--topic",
      javaTopic,
      "--property",
      "parse.key=true",
      "--property",
      "key.separator=\t",
    ]);
    child.stdin!.end(`${input}\n`);
    const code = await new Promise<number | null>((resolve) =>
      child.on("exit", (exitCode) => resolve(exitCode)),
    );
    assert.equal(code, 0, "Java console producer failed");
    const java = await partitionsChosenBy(javaTopic, brokers, testGroup(t));

    const ourTopic = testTopic(t, "ours");
    const queue = await KafkaQueue.open<string>({
      brokers,
      topic: ourTopic,
      partitions: PARTITIONS,
      group: testGroup(t),
      clientId: "issue-121",
      codec: { encode: (v) => v, decode: (b) => b.toString() },
      keyOf: (v) => v,
      logger: pino({ level: "silent" }),
    });
    t.after(() => queue.close());
    await queue.publish(KEYS);
    const ours = await partitionsChosenBy(ourTopic, brokers, testGroup(t));

    assert.equal(java.size, KEYS.length);
    for (const key of KEYS) assert.equal(ours.get(key), java.get(key), `partition of ${key}`);

    // The check can fail: the client's default partitioner disagrees on some of these keys.
    const differs = KEYS.filter((key) => {
      const bytes = Buffer.from(key);
      const message = { topic: ourTopic, key: bytes };
      return (
        defaultPartitioner(message, bytes) % PARTITIONS !==
        compatibilityPartitioner(message, bytes) % PARTITIONS
      );
    });
    assert.ok(differs.length > 0, "expected some keys the default partitioner places elsewhere");
    t.diagnostic(
      `${differs.length} of ${KEYS.length} keys would land elsewhere with the client's default partitioner`,
    );
  });
});
