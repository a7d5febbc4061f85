import { setTimeout as sleep } from "node:timers/promises";
import { Admin } from "@platformatic/kafka";
import { closeClient } from "./close.ts";
import { topicLag } from "./queue/lag.ts";
import { describeTopic } from "./queue/topic.ts";
import type { TopicDescription } from "./queue/types.ts";

/**
 * What `stampede doctor` (and `stampede api` at start) says about Kafka in
 * QUEUE=kafka mode: whether the brokers answer, whether the claims topic is
 * there, and what a 202 survives with its replication (SPEC "What a 202
 * survives": the 202 is sent once Kafka acknowledged with acks=all, so an
 * acknowledged claim is on at least min.insync.replicas brokers), and
 * whether the issued (KAFKA_ISSUED_TOPIC) and tasks (KAFKA_TASKS_TOPIC) topics are there.
 */
export type Status = "ok" | "info" | "warn" | "fail";

export interface KafkaVerdict {
  status: Status;
  name: string;
  message: string;
  fix?: string;
}

export interface KafkaDoctorOptions {
  brokers: string[];
  topic: string;
  group: string;
  partitions: number;
  /** KAFKA_ISSUED_TOPIC (undefined: off): the topic workers publish issued claims to. */
  issuedTopic?: string;
  /** KAFKA_TASKS_TOPIC: the topic generic tasks (POST /v1/tasks) travel on. */
  tasksTopic?: string;
  timeoutMs?: number;
}

/** What a 202 survives with this topic's replication, in one verdict. */
export function judgeReplication(d: TopicDescription): KafkaVerdict {
  const rf = d.replicationFactor;
  const minIsr = d.minInsyncReplicas;
  const name = "kafka-replication";
  const where = `topic ${d.topic}: replication factor ${rf}, min.insync.replicas ${minIsr}, ${d.brokers} broker(s)`;
  if (minIsr > rf)
    return {
      status: "fail",
      name,
      message: `${where}: every produce is refused (NOT_ENOUGH_REPLICAS), so every claim gets 503`,
      fix: `lower min.insync.replicas to at most ${rf}, or add replicas`,
    };
  if (d.minIsr < minIsr)
    return {
      status: "fail",
      name,
      message: `${where}: only ${d.minIsr} replica(s) in sync on some partition, so claims on it get 503 now`,
      fix: "bring the missing brokers back",
    };
  if (rf === 1)
    return {
      status: "warn",
      name,
      message:
        `${where}: a 202 survives kill -9 of any stampede process, the loss of Redis, and kill -9 or a ` +
        "restart of the broker (acknowledged claims are in its page cache and log). It does NOT survive " +
        "losing the broker's disk, nor a power loss or kernel crash of its machine: Kafka acknowledges " +
        "before fsync (durability comes from replicas), so the last seconds of 202s may be lost. While the " +
        "broker is down, claims get 503 (nothing is admitted that Kafka did not acknowledge).",
      fix: "run 3 brokers and create the topic with KAFKA_REPLICATION_FACTOR=3 (min.insync.replicas 2)",
    };
  const unclean = d.uncleanLeaderElection
    ? " unclean.leader.election.enable is true: a replica that was behind may become leader and drop acknowledged claims."
    : "";
  if (minIsr === 1)
    return {
      status: "warn",
      name,
      message: `${where}: with min.insync.replicas 1 an acknowledged claim may be on one broker only; losing that broker's disk loses it.${unclean}`,
      fix: "set min.insync.replicas=2 on the topic",
    };
  const survives = `a 202 survives the loss of ${minIsr - 1} broker(s) (each claim is on ${minIsr} before its 202)`;
  const available =
    rf - minIsr > 0
      ? `claims keep being admitted with up to ${rf - minIsr} broker(s) down`
      : "claims get 503 while any replica of a partition is down";
  return {
    status: d.uncleanLeaderElection ? "warn" : "ok",
    name,
    message: `${where}: ${survives}; ${available}.${unclean}`,
    ...(d.uncleanLeaderElection ? { fix: "set unclean.leader.election.enable=false on the topic" } : {}),
  };
}

/** Every Kafka verdict for the doctor; never throws, never waits much longer than timeoutMs. */
export async function kafkaDoctor(options: KafkaDoctorOptions): Promise<KafkaVerdict[]> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const admin = new Admin({
    clientId: "stampede-doctor",
    bootstrapBrokers: options.brokers,
    timeout: timeoutMs,
    connectTimeout: timeoutMs,
    retries: 0,
  });
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs * 2);
  });
  try {
    return await Promise.race([check(admin, options), deadline]);
  } catch (error) {
    return [
      {
        status: "fail",
        name: "kafka",
        message: `cannot reach Kafka at ${options.brokers.join(",")}: ${(error as Error).message}`,
        fix: "start the brokers or correct KAFKA_BROKERS",
      },
    ];
  } finally {
    clearTimeout(timer);
    await closeClient(admin, false, 1000);
  }
}

async function check(admin: Admin, options: KafkaDoctorOptions): Promise<KafkaVerdict[]> {
  const verdicts = await checkClaims(admin, options);
  if (options.issuedTopic !== undefined) verdicts.push(await checkIssued(admin, options.issuedTopic));
  if (options.tasksTopic !== undefined) verdicts.push(await checkTasks(admin, options.tasksTopic));
  return verdicts;
}

/**
 * The issued topic: workers create it at start; a topic that is missing
 * after that (deleted, or not creatable) holds every claim worker back,
 * since a batch is not acknowledged before its events are published.
 */
async function checkIssued(admin: Admin, topic: string): Promise<KafkaVerdict> {
  const name = "kafka-issued-topic";
  const issued = await describeTopic(admin, topic);
  if (!issued)
    return {
      status: "info",
      name,
      message: `issued topic ${topic} does not exist yet; the first worker creates it at start (workers hold their batches while they cannot publish to it)`,
      fix: 'set KAFKA_ISSUED_TOPIC="" to publish no issued events',
    };
  return {
    status: "ok",
    name,
    message: `issued topic ${issued.topic}: ${issued.partitions} partitions, replication factor ${issued.replicationFactor}; every issued claim is published to it, keyed by campaign id`,
  };
}

/** The tasks topic: created by the first API or worker process at start, like the claims topic. */
async function checkTasks(admin: Admin, topic: string): Promise<KafkaVerdict> {
  const name = "kafka-tasks-topic";
  const tasks = await describeTopic(admin, topic);
  if (!tasks)
    return {
      status: "info",
      name,
      message: `tasks topic ${topic} does not exist yet; the first api or worker process creates it at start`,
    };
  return {
    status: "ok",
    name,
    message: `tasks topic ${tasks.topic}: ${tasks.partitions} partitions (at most that many worker processes run tasks at once), replication factor ${tasks.replicationFactor}`,
  };
}

/**
 * The group's lag, asked a few times: a broker that just started answers
 * metadata at once but refuses group offsets while it loads its group
 * coordinator (__consumer_offsets), for a few seconds.
 */
async function lagOnceCoordinatorAnswers(admin: Admin, topic: string, group: string) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await topicLag(admin, topic, group);
    } catch (error) {
      if (attempt >= 8) throw error;
      await sleep(500);
    }
  }
}

async function checkClaims(admin: Admin, options: KafkaDoctorOptions): Promise<KafkaVerdict[]> {
  const metadata = await admin.metadata({ topics: [] });
  const verdicts: KafkaVerdict[] = [
    {
      status: "ok",
      name: "kafka",
      message: `${options.brokers.join(",")} answers: ${metadata.brokers.size} broker(s), cluster ${metadata.id}`,
    },
  ];
  const topic = await describeTopic(admin, options.topic);
  if (!topic) {
    verdicts.push({
      status: "info",
      name: "kafka-topic",
      message: `topic ${options.topic} does not exist yet; stampede creates it at start with ${options.partitions} partitions`,
    });
    return verdicts;
  }
  verdicts.push({
    status: "ok",
    name: "kafka-topic",
    message:
      `topic ${topic.topic}: ${topic.partitions} partitions` +
      (topic.partitions === options.partitions
        ? ""
        : ` (KAFKA_PARTITIONS ${options.partitions} applies only when stampede creates it)`),
  });
  verdicts.push(judgeReplication(topic));
  let lag: Awaited<ReturnType<typeof topicLag>>;
  try {
    lag = await lagOnceCoordinatorAnswers(admin, options.topic, options.group);
  } catch (error) {
    verdicts.push({
      status: "warn",
      name: "queue-lag",
      message: `group ${options.group}: its committed offsets could not be read (${(error as Error).message})`,
      fix: "run the doctor again in a few seconds (a broker that just started loads its group coordinator first)",
    });
    return verdicts;
  }
  const total = lag.reduce((sum, p) => sum + p.lag, 0);
  const busiest = [...lag]
    .sort((a, b) => b.lag - a.lag)
    .slice(0, 3)
    .filter((p) => p.lag > 0)
    .map((p) => `partition ${p.partition}: ${p.lag}`);
  verdicts.push({
    status: "info",
    name: "queue-lag",
    message: `group ${options.group}: ${total} claim(s) in the topic not yet in the ledger${busiest.length ? ` (${busiest.join(", ")})` : ""}`,
  });
  return verdicts;
}
