import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { Admin } from "@platformatic/kafka";
import { closeClient } from "../../../src/adapters/kafka/close.ts";
import { checkInvariants, type Reply, spike, startCluster } from "../../helpers/distributed.ts";
import { ownKafkaCluster, skipWithoutKafka } from "../../helpers/kafka.ts";
import { skipWithoutServices, sql } from "../../helpers/services.ts";
import { eventually } from "../../helpers/wait.ts";

/**
 * QUEUE=kafka on a 3-broker Kafka cluster (scripts/kafka.sh start --brokers
 * 3), topics with replication factor 3 and min.insync.replicas 2 (a 202 waits
 * for acks=all: two brokers hold each claim): kill -9 of the broker leading
 * most of the claims topic's partitions mid-spike. Every 202 is issued, the
 * ledger holds no claim twice, and 503s come only while the partitions'
 * leadership moves to the surviving brokers.
 */
const skip = (await skipWithoutServices()) || (await skipWithoutKafka());

test("kill -9 of one of 3 Kafka brokers mid-spike (RF 3, min ISR 2): every 202 issued, no duplicate, 503s only while leadership moves", {
  skip,
  timeout: 300_000,
}, async (t) => {
  const started = performance.now();
  const kafka = await ownKafkaCluster(t, 3);
  const kafkaUp = performance.now();
  const name = (label: string) => `t-${label}-${randomBytes(5).toString("hex")}`;
  const topic = name("claims");
  const cluster = await startCluster(t, {
    apis: 2,
    workers: 2,
    env: {
      QUEUE: "kafka",
      KAFKA_BROKERS: kafka.brokers.join(","),
      KAFKA_TOPIC: topic,
      KAFKA_GROUP: name("workers"),
      KAFKA_TASKS_TOPIC: name("tasks"),
      KAFKA_TASKS_GROUP: name("task-workers"),
      KAFKA_ISSUED_TOPIC: name("issued"),
      KAFKA_PARTITIONS: "6",
      KAFKA_REPLICATION_FACTOR: "3",
      KAFKA_MIN_INSYNC_REPLICAS: "2",
      KAFKA_SESSION_TIMEOUT_MS: "6000",
      KAFKA_OUTBOX_LEASE_MS: "3000",
      KAFKA_RELAY_INTERVAL_MS: "250",
    },
  });

  // The topic as stampede created it, and the broker that leads most of its partitions.
  const admin = new Admin({ clientId: "stampede-test", bootstrapBrokers: kafka.brokers });
  t.after(() => closeClient(admin));
  const metadata = await admin.metadata({ topics: [topic], forceUpdate: true });
  const partitions = metadata.topics.get(topic)!.partitions;
  assert.ok(
    partitions.every((p) => p.replicas.length === 3),
    "replication factor 3",
  );
  const [config] = await admin.describeConfigs({
    resources: [{ resourceType: 2, resourceName: topic, configurationKeys: ["min.insync.replicas"] }],
  });
  assert.equal(config?.configs.find((c) => c.name === "min.insync.replicas")?.value, "2");
  const leads = new Map<number, number>();
  for (const p of partitions) leads.set(p.leader, (leads.get(p.leader) ?? 0) + 1);
  const victim = [...leads].sort((a, b) => b[1] - a[1])[0]![0];
  t.diagnostic(`partition leaders ${JSON.stringify(Object.fromEntries(leads))}; killing broker ${victim}`);

  // On failure, what the API processes logged (a Kafka client that does not find the new leaders shows here).
  t.after(() => {
    if (process.env.KAFKA_TEST_LOGS)
      for (const p of cluster.apis) process.stderr.write(`--- api\n${p.output().slice(-6000)}\n`);
  });
  const stock = 4000;
  await cluster.createCampaign({ id: "drop", name: "brokers", stock });
  const ready = performance.now();
  let killedAt = 0;
  let kill: Promise<void> | undefined;
  const unavailable: number[] = [];
  // A machine too busy to keep up sheds load with 503s of its own (src/http/plugins/overload.ts):
  // counted apart, since they say nothing about Kafka.
  let shed = 0;
  const result = await spike(
    () => cluster.apis.map((p) => p.url),
    "drop",
    Array.from({ length: 6000 }, (_, i) => `user-${i}`),
    {
      concurrency: 200,
      maxAttempts: 400,
      onAnswer: (done) => {
        if (done < 1500) return;
        kill ??= (async () => {
          killedAt = performance.now();
          await kafka.kill9(victim);
        })();
      },
      // By when the 503 came: a request sent just before the kill and waiting on the dead broker's
      // acknowledgement is answered 503 after it, rightly.
      onReply: (_, reply: Reply) => {
        if (reply.status === 503 && /overloaded/.test(String(reply.body.message))) shed++;
        else if (reply.status === 503) unavailable.push(performance.now());
      },
    },
  );
  await kill;
  const fired = performance.now();
  t.diagnostic(`statuses ${JSON.stringify(result.statuses)}; errors ${JSON.stringify(result.errors)}`);

  await eventually(
    async () => (await cluster.rows("drop")).length === stock,
    90_000,
    "every admitted claim issued",
  );
  const rows = await cluster.rows("drop");
  checkInvariants(rows, result.answers, result.admitted, { stock });
  const [dupes] = await sql<{ n: number }>(
    `SELECT count(*)::int - count(DISTINCT claim_id)::int AS n FROM "${cluster.schema}".claims WHERE campaign_id = 'drop'`,
  );
  assert.equal(dupes!.n, 0, "no claim twice in the ledger");

  const before = unavailable.filter((at) => at < killedAt).length;
  const after = unavailable.filter((at) => at >= killedAt);
  const windowMs = after.length > 0 ? Math.max(...after) - killedAt : 0;
  t.diagnostic(
    `503s: ${before} before the kill, ${after.length} after it, the last ${Math.round(windowMs)} ms after it ` +
      `(and ${shed} shed by the overload guard); ` +
      `kafka up ${Math.round((kafkaUp - started) / 1000)} s, stampede up ${Math.round((ready - kafkaUp) / 1000)} s, ` +
      `spike ${Math.round((fired - ready) / 1000)} s, total ${Math.round((performance.now() - started) / 1000)} s`,
  );
  assert.equal(before, 0, "no 503 for a dependency before the broker died");
  assert.ok(windowMs < 30_000, `503s for ${Math.round(windowMs)} ms: longer than leadership takes to move`);
});
