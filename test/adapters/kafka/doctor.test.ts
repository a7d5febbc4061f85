import assert from "node:assert/strict";
import { test } from "node:test";
import { judgeReplication } from "../../../src/adapters/kafka/doctor.ts";
import type { TopicDescription } from "../../../src/adapters/kafka/queue/types.ts";

/**
 * What `stampede doctor` says about Kafka: the topic's replication against
 * what a 202 promises (it is sent after acks=all), and what one broker does
 * not survive. (Against a real broker: doctor.services.test.ts.)
 */
const topic = (
  rf: number,
  minInsyncReplicas: number,
  extra: Partial<TopicDescription> = {},
): TopicDescription => ({
  topic: "claims",
  partitions: 12,
  replicationFactor: rf,
  minIsr: rf,
  minInsyncReplicas,
  uncleanLeaderElection: false,
  brokers: rf,
  ...extra,
});

test("replication verdicts: what a 202 survives", () => {
  const single = judgeReplication(topic(1, 1));
  assert.equal(single.status, "warn");
  assert.match(single.message, /does NOT survive losing the broker's disk, nor a power loss/);
  assert.match(single.message, /kill -9 or a restart of the broker/);
  assert.match(single.fix!, /3 brokers/);

  const three = judgeReplication(topic(3, 2));
  assert.equal(three.status, "ok");
  assert.match(three.message, /survives the loss of 1 broker\(s\).*up to 1 broker\(s\) down/);

  assert.equal(judgeReplication(topic(3, 1)).status, "warn", "an acknowledged claim may sit on one broker");
  assert.equal(
    judgeReplication(topic(2, 3)).status,
    "fail",
    "min ISR above the replicas: every produce refused",
  );
  assert.equal(judgeReplication(topic(3, 2, { minIsr: 1 })).status, "fail", "under-replicated now");
  const oneDown = judgeReplication(topic(3, 2, { minIsr: 2 }));
  assert.equal(oneDown.status, "warn", "one broker down: still taking claims, one more loss refuses them");
  assert.match(oneDown.message, /only 2 of 3 replicas in sync.*losing 1 more broker/);
  assert.equal(judgeReplication(topic(3, 2, { uncleanLeaderElection: true })).status, "warn");
  assert.match(judgeReplication(topic(2, 2)).message, /503 while any replica of a partition is down/);
});
