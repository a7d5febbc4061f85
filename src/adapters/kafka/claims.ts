/**
 * The claims side of distributed mode with QUEUE=kafka, opened by the
 * runtime: the claims topic (created at start when missing), the outbox
 * between the Redis reservation and Kafka's acknowledgement, the sink that
 * sends admitted claims to that outbox, the admission store that answers 202
 * only after the acknowledgement, and, in workers, the relay that sends
 * reservations left behind. docs/kafka.md explains the design.
 */

import type { Logger } from "pino";
import type { Config } from "../../config/config.ts";
import { decodeClaimMessage, encodeClaimMessage } from "../../domain/claim-message.ts";
import type { Claim } from "../../domain/types.ts";
import type { AdmissionStore } from "../../ports/admission.ts";
import type { AdmissionSink } from "../redis/admission/sink.ts";
import type { RedisClient } from "../redis/connection.ts";
import type { RedisKeys } from "../redis/keys.ts";
import type { ReplicaWait } from "../redis/replicas/replica-wait.ts";
import type { RedisWaitingRoom } from "../redis/waiting-room/redis-waiting-room.ts";
import { KafkaAdmission } from "./admission/kafka-admission.ts";
import { KafkaWaitingRoom } from "./admission/kafka-waiting-room.ts";
import { Outbox } from "./admission/outbox.ts";
import { OutboxRelay } from "./admission/outbox-relay.ts";
import { outboxSink } from "./admission/outbox-sink.ts";
import { KafkaQueue, kafkaTimeouts } from "./queue/index.ts";

export interface KafkaClaims {
  queue: KafkaQueue<Claim>;
  outbox: Outbox;
  /** For RedisAdmission: claims go to the outbox; a rebuild waits until the workers consumed the topic. */
  sink: AdmissionSink;
  /** Wraps the Redis admission (with `sink`) so that a 202 waits for Kafka. */
  admission(inner: AdmissionStore): KafkaAdmission;
  /** Wraps the Redis waiting room (its admission with `sink`) so that released claims go to Kafka at once. */
  waitingRoom(inner: RedisWaitingRoom): KafkaWaitingRoom;
  /** Workers only: sends the outbox entries no API process is waiting on. */
  relay?: OutboxRelay;
  close(): Promise<void>;
}

/** The settings the claims side reads. */
export type KafkaClaimsConfig = Pick<
  Config,
  | "KAFKA_BROKERS"
  | "KAFKA_TOPIC"
  | "KAFKA_PARTITIONS"
  | "KAFKA_REPLICATION_FACTOR"
  | "KAFKA_MIN_INSYNC_REPLICAS"
  | "KAFKA_GROUP"
  | "KAFKA_LINGER_MS"
  | "KAFKA_SESSION_TIMEOUT_MS"
  | "KAFKA_OUTBOX_LEASE_MS"
  | "KAFKA_RELAY_INTERVAL_MS"
  | "KAFKA_FAULT_DELAY_MS"
  | "BATCH_SIZE"
  | "STREAM_MAX_LEN"
  | "REQUEST_TIMEOUT_MS"
  | "KAFKA_REQUEST_TIMEOUT_MS"
  | "KAFKA_CONNECT_TIMEOUT_MS"
>;

/** A claim's message key: one user's claims in a campaign land on one partition, in order. */
export const claimKey = (claim: Pick<Claim, "campaignId" | "userId">) =>
  `${claim.campaignId}:${claim.userId}`;

export async function openKafkaClaims(options: {
  role: "api" | "worker";
  config: KafkaClaimsConfig;
  redis: RedisClient;
  keys: RedisKeys;
  logger: Logger;
  /** Told about every produce Kafka did not acknowledge (metrics). */
  onPublishError?: () => void;
  instance: string;
  /** REDIS_WAIT_REPLICAS: the relay sends only reservations Redis replicas hold. */
  replicaWait?: ReplicaWait;
}): Promise<KafkaClaims> {
  const { role, config, redis, keys, logger, instance } = options;
  const queue = await KafkaQueue.open<Claim>({
    brokers: config.KAFKA_BROKERS,
    topic: config.KAFKA_TOPIC,
    partitions: config.KAFKA_PARTITIONS,
    replicationFactor: config.KAFKA_REPLICATION_FACTOR || undefined,
    minInsyncReplicas: config.KAFKA_MIN_INSYNC_REPLICAS || undefined,
    group: config.KAFKA_GROUP,
    clientId: `stampede-${role}-${instance}`,
    // The versioned JSON claim message (domain/claim-message.ts): a worker refuses a
    // newer version and commits nothing past it, for a newer worker to take.
    codec: {
      encode: (claim) => JSON.stringify(encodeClaimMessage(claim)),
      decode: (data) => decodeClaimMessage(JSON.parse(data.toString("utf8"))),
    },
    keyOf: claimKey,
    logger,
    lingerMs: config.KAFKA_LINGER_MS,
    maxBatch: config.BATCH_SIZE,
    sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS,
    ...kafkaTimeouts(config),
  });
  const outbox = new Outbox(redis, keys, options.replicaWait);
  const publish = async (claims: Claim[]) => {
    try {
      await queue.publish(claims);
    } catch (error) {
      options.onPublishError?.();
      throw error;
    }
  };
  const relay =
    role === "worker"
      ? new OutboxRelay({
          outbox,
          publish,
          logger,
          leaseMs: config.KAFKA_OUTBOX_LEASE_MS,
          intervalMs: config.KAFKA_RELAY_INTERVAL_MS,
          batchSize: config.BATCH_SIZE,
        })
      : undefined;
  relay?.start();
  return {
    queue,
    outbox,
    sink: outboxSink({ queue, cap: config.STREAM_MAX_LEN, logger }),
    admission: (inner) =>
      new KafkaAdmission({
        inner,
        outbox,
        publish,
        logger,
        slowMs: config.REQUEST_TIMEOUT_MS,
        faultDelayMs: config.KAFKA_FAULT_DELAY_MS,
      }),
    waitingRoom: (inner) => new KafkaWaitingRoom({ inner, outbox, publish, logger }),
    relay,
    async close() {
      await relay?.stop();
      await queue.close();
    },
  };
}
