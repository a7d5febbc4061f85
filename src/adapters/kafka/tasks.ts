import type { Logger } from "pino";
import type { Config } from "../../config/config.ts";
import type { TaskMessage } from "../../ports/task-store.ts";
import { KafkaQueue } from "./queue/index.ts";

/** The settings the tasks topic reads. */
export type KafkaTasksConfig = Pick<
  Config,
  | "KAFKA_BROKERS"
  | "KAFKA_TASKS_TOPIC"
  | "KAFKA_TASKS_PARTITIONS"
  | "KAFKA_REPLICATION_FACTOR"
  | "KAFKA_TASKS_GROUP"
  | "KAFKA_LINGER_MS"
  | "KAFKA_SESSION_TIMEOUT_MS"
>;

/**
 * The tasks topic of distributed mode with QUEUE=kafka: the same KafkaQueue
 * as claims, on a topic and consumer group of its own, so a backlog of slow
 * tasks never stands in front of a claim. Each worker process is one member
 * of the group and runs TASK_CONCURRENCY tasks at once from the partitions it
 * holds (docs/tasks.md, "Kafka mode").
 */
export function openKafkaTasks(options: {
  role: "api" | "worker";
  config: KafkaTasksConfig;
  logger: Logger;
  instance: string;
}): Promise<KafkaQueue<TaskMessage>> {
  const { role, config, logger, instance } = options;
  return KafkaQueue.open<TaskMessage>({
    brokers: config.KAFKA_BROKERS,
    topic: config.KAFKA_TASKS_TOPIC,
    partitions: config.KAFKA_TASKS_PARTITIONS,
    replicationFactor: config.KAFKA_REPLICATION_FACTOR || undefined,
    group: config.KAFKA_TASKS_GROUP,
    clientId: `stampede-${role}-tasks-${instance}`,
    codec: {
      encode: (message) => JSON.stringify(message),
      decode: (data) => JSON.parse(data.toString("utf8")) as TaskMessage,
    },
    // A task's messages (the first, and the sweep's re-publications) share a
    // partition; tasks spread over all of them.
    keyOf: (message) => message.taskId,
    logger,
    lingerMs: config.KAFKA_LINGER_MS,
    sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS,
  });
}
