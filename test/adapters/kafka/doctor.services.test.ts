import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { pino } from "pino";
import { kafkaDoctor } from "../../../src/adapters/kafka/doctor.ts";
import { KafkaIssuedSink } from "../../../src/adapters/kafka/issued-sink.ts";
import { KafkaQueue } from "../../../src/adapters/kafka/queue/kafka-queue.ts";
import { kafkaBrokers, skipWithoutKafka, testGroup, testTopic } from "../../helpers/kafka.ts";

/** What `stampede doctor` says about Kafka against the real broker: topics, replication, lag. */
describe("doctor against the real broker", { skip: await skipWithoutKafka(), timeout: 60_000 }, () => {
  test("a missing topic, then the topic stampede created on one broker", async (t) => {
    const brokers = await kafkaBrokers();
    const name = testTopic(t, "doctor");
    const group = testGroup(t, "doctor");
    const before = await kafkaDoctor({ brokers, topic: name, group, partitions: 6 });
    assert.deepEqual(
      before.map((v) => [v.name, v.status]),
      [
        ["kafka", "ok"],
        ["kafka-topic", "info"],
      ],
    );
    const queue = await KafkaQueue.open<string>({
      brokers,
      topic: name,
      partitions: 6,
      group,
      clientId: "doctor-test",
      codec: { encode: (v) => v, decode: (b) => b.toString() },
      keyOf: (v) => v,
      logger: pino({ level: "silent" }),
    });
    t.after(() => queue.close());
    await queue.publish(["a", "b", "c"]);
    const after = await kafkaDoctor({ brokers, topic: name, group, partitions: 6 });
    const byName = new Map(after.map((v) => [v.name, v]));
    assert.match(byName.get("kafka-topic")!.message, /6 partitions/);
    assert.equal(byName.get("kafka-replication")!.status, "warn", "one broker, one replica");
    assert.match(
      byName.get("kafka-replication")!.message,
      /replication factor 1, min.insync.replicas 1, 1 broker/,
    );
    assert.match(byName.get("queue-lag")!.message, /3 claim\(s\) in the topic not yet in the ledger/);
  });

  test("the issued topic: missing until a worker creates it, then described", async (t) => {
    const brokers = await kafkaBrokers();
    const claims = testTopic(t, "doctor-claims");
    const issued = testTopic(t, "doctor-issued");
    const group = testGroup(t, "doctor");
    const verdict = async () =>
      (await kafkaDoctor({ brokers, topic: claims, group, partitions: 6, issuedTopic: issued })).find(
        (v) => v.name === "kafka-issued-topic",
      );
    const before = await verdict();
    assert.equal(before?.status, "info");
    assert.match(before!.message, /does not exist yet; the first worker creates it/);
    const sink = await KafkaIssuedSink.open({
      brokers,
      topic: issued,
      partitions: 3,
      clientId: "doctor-test",
      logger: pino({ level: "silent" }),
    });
    t.after(() => sink.close());
    const after = await verdict();
    assert.equal(after?.status, "ok");
    assert.match(after!.message, new RegExp(`issued topic ${issued}: 3 partitions, replication factor 1`));
    const without = await kafkaDoctor({ brokers, topic: claims, group, partitions: 6 });
    assert.ok(!without.some((v) => v.name === "kafka-issued-topic"), 'KAFKA_ISSUED_TOPIC="": not checked');
  });

  test("the tasks topic: missing until an api or worker creates it, then described", async (t) => {
    const brokers = await kafkaBrokers();
    const claims = testTopic(t, "doctor-claims");
    const tasks = testTopic(t, "doctor-tasks");
    const group = testGroup(t, "doctor-tasks");
    const verdict = async () =>
      (await kafkaDoctor({ brokers, topic: claims, group, partitions: 6, tasksTopic: tasks })).find(
        (v) => v.name === "kafka-tasks-topic",
      );
    const before = await verdict();
    assert.equal(before?.status, "info");
    assert.match(before!.message, /does not exist yet; the first api or worker process creates it/);
    const queue = await KafkaQueue.open<string>({
      brokers,
      topic: tasks,
      partitions: 4,
      group,
      clientId: "doctor-test",
      codec: { encode: (v) => v, decode: (b) => b.toString() },
      keyOf: (v) => v,
      logger: pino({ level: "silent" }),
    });
    t.after(() => queue.close());
    const after = await verdict();
    assert.equal(after?.status, "ok");
    assert.match(after!.message, new RegExp(`tasks topic ${tasks}: 4 partitions`));
  });
});
