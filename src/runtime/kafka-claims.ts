import type { Redis } from "ioredis";
import type { Logger } from "pino";
import { KafkaAdmission } from "../adapters/kafka/admission/kafka-admission.ts";
import { Outbox } from "../adapters/kafka/admission/outbox.ts";
import { OutboxRelay } from "../adapters/kafka/admission/outbox-relay.ts";
import { kafkaQueuedClaims } from "../adapters/kafka/admission/queued-claims.ts";
import { KafkaQueue } from "../adapters/kafka/kafka-queue.ts";
import type { RedisKeys } from "../adapters/redis/admission/keys.ts";
import type { Config } from "../config/config.ts";
import { decodeClaimMessage, encodeClaimMessage } from "../domain/claim-message.ts";
import type { Claim } from "../domain/types.ts";
import type { Metrics } from "../ops/metrics/metrics.ts";
import type { AdmissionStore } from "../ports/admission.ts";

/**
 * The claims side of distributed mode with QUEUE=kafka, for distributed.ts:
 * the claims topic (created at start when missing), the outbox between the
 * Redis reservation and Kafka's acknowledgement, the admission store that
 * answers 202 only after that acknowledgement, and, in workers, the relay
 * that sends reservations left behind. docs/kafka.md explains the design.
 */
export interface KafkaClaims {
  queue: KafkaQueue<Claim>;
  outbox: Outbox;
  /** For RedisAdmission: a rebuild waits until the workers consumed the topic. */
  queuedClaims: (campaignId: string, context: { epoch: number }) => AsyncIterable<Claim>;
  /** Wraps the Redis admission (sink "outbox") so that a 202 waits for Kafka. */
  admission(inner: AdmissionStore): KafkaAdmission;
  /** Workers only: sends the outbox entries no API process is waiting on. */
  relay?: OutboxRelay;
  close(): Promise<void>;
}

/** A claim's message key: one user's claims in a campaign land on one partition, in order. */
export const claimKey = (claim: Pick<Claim, "campaignId" | "userId">) =>
  `${claim.campaignId}:${claim.userId}`;

export async function openKafkaClaims(options: {
  role: "api" | "worker";
  config: Config;
  redis: Redis;
  keys: RedisKeys;
  logger: Logger;
  metrics: Metrics;
  instance: string;
}): Promise<KafkaClaims> {
  const { role, config, redis, keys, logger, metrics, instance } = options;
  const queue = await KafkaQueue.open<Claim>({
    brokers: config.KAFKA_BROKERS,
    topic: config.KAFKA_TOPIC,
    partitions: config.KAFKA_PARTITIONS,
    replicationFactor: config.KAFKA_REPLICATION_FACTOR || undefined,
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
  });
  const outbox = new Outbox(redis, keys);
  const publish = async (claims: Claim[]) => {
    try {
      await queue.publish(claims);
    } catch (error) {
      metrics.dependencyError("kafka");
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
    queuedClaims: kafkaQueuedClaims(queue, logger),
    admission: (inner) =>
      new KafkaAdmission({
        inner,
        outbox,
        publish,
        logger,
        slowMs: config.REQUEST_TIMEOUT_MS,
        faultDelayMs: config.KAFKA_FAULT_DELAY_MS,
      }),
    relay,
    async close() {
      await relay?.stop();
      await queue.close();
    },
  };
}
