import type { Logger } from "pino";
import type { Config } from "../../../config/config.ts";
import type { KafkaCodec } from "./types.ts";

export interface KafkaQueueOptions<T> {
  /** Bootstrap brokers, "host:port". */
  brokers: readonly string[];
  topic: string;
  /** Partitions of the topic when this queue creates it (an existing topic keeps its own). */
  partitions: number;
  /** Replicas of the topic when this queue creates it (default: min(3, brokers in the cluster)). */
  replicationFactor?: number;
  /** min.insync.replicas of the topic when this queue creates it (default: see topic.ts). */
  minInsyncReplicas?: number;
  /** The consumer group of consume() and lag(); a queue that only publishes (the issued topic) has none. */
  group?: string;
  /** Names this process's clients in broker logs (INSTANCE_ID). */
  clientId: string;
  codec: KafkaCodec<T>;
  /** Message key: values with one key land on one partition, in publish order. */
  keyOf: (value: T) => string;
  /** Record headers of a value (none by default). */
  headersOf?: (value: T) => Record<string, string>;
  logger: Logger;
  /** How long publish() waits for more values to share one produce request (0: the values of one event-loop turn). */
  lingerMs?: number;
  /** Most values in one produce request. */
  maxBatch?: number;
  /** A worker silent this long leaves the group and its partitions move on (classic protocol). */
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  /** One broker request's timeout; produce gives up after (retries + 1) attempts (see deliveryBoundMs). */
  requestTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Retries of one produce (at least PRODUCER_MIN_RETRIES, see producerRetries), of an admin call. */
  retries?: number;
  retryDelayMs?: number;
  /** Longest wait of one fetch for new messages (also how fast stop() is noticed when idle). */
  fetchMaxWaitMs?: number;
}

export const DEFAULTS = {
  lingerMs: 0,
  maxBatch: 1000,
  sessionTimeoutMs: 10_000,
  heartbeatIntervalMs: 1000,
  requestTimeoutMs: 3000,
  connectTimeoutMs: 3000,
  retries: 2,
  retryDelayMs: 250,
  fetchMaxWaitMs: 200,
} as const;

/**
 * The deadlines of every broker call, as the settings give them: each
 * request (produce, fetch, metadata, commit...) fails after
 * KAFKA_REQUEST_TIMEOUT_MS, each connection attempt after
 * KAFKA_CONNECT_TIMEOUT_MS, so a broker that hangs fails calls in a known
 * time: a produce after deliveryBoundMs() at most (the API has answered 503
 * at REQUEST_TIMEOUT_MS by then, and the breaker opened), a worker's fetch
 * or commit is retried.
 */
export function kafkaTimeouts(
  config: Pick<Config, "KAFKA_REQUEST_TIMEOUT_MS" | "KAFKA_CONNECT_TIMEOUT_MS">,
): Pick<KafkaQueueOptions<unknown>, "requestTimeoutMs" | "connectTimeoutMs"> {
  return {
    requestTimeoutMs: config.KAFKA_REQUEST_TIMEOUT_MS,
    connectTimeoutMs: config.KAFKA_CONNECT_TIMEOUT_MS,
  };
}

/** Options with every default filled in. */
export type ResolvedKafkaQueueOptions<T> = KafkaQueueOptions<T> & {
  [K in keyof typeof DEFAULTS]: number;
};

export function resolveOptions<T>(options: KafkaQueueOptions<T>): ResolvedKafkaQueueOptions<T> {
  const out = { ...options } as ResolvedKafkaQueueOptions<T>;
  for (const [name, value] of Object.entries(DEFAULTS) as [keyof typeof DEFAULTS, number][])
    out[name] ??= value;
  return out;
}

/**
 * @platformatic/kafka's idempotent producer takes `retries` of 0 or 1 (or
 * none) to mean "retry forever" (it sets Number.MAX_SAFE_INTEGER). With
 * retries 1 (this module's former default) a produce that kept failing
 * never settled: after a broker's kill -9, one produce retried for minutes
 * (attempt 400 and counting), every later claim waited behind it (one
 * request in flight) and the API answered 503 for minutes. So a
 * producer is always given at least this many, and stays bounded.
 */
export const PRODUCER_MIN_RETRIES = 2;

/** The retries the producer is given: bounded whatever `retries` says (see PRODUCER_MIN_RETRIES). */
export function producerRetries(o: Pick<ResolvedKafkaQueueOptions<unknown>, "retries">): number {
  return Math.max(PRODUCER_MIN_RETRIES, o.retries);
}

/**
 * The longest a produce request can stay outstanding before the producer
 * gives up: every attempt may wait a full request timeout, then a retry
 * delay. Past this, a value publish() did not confirm is either in the topic
 * or never will be; a rebuild after a Redis loss waits this long before it
 * takes the end of the topic as final. The publisher enforces it: a send the
 * client has not settled by then fails, and its producer is closed.
 */
export function deliveryBoundMs(
  o: Pick<
    ResolvedKafkaQueueOptions<unknown>,
    "connectTimeoutMs" | "requestTimeoutMs" | "retries" | "retryDelayMs" | "lingerMs"
  >,
): number {
  // An attempt may connect, refresh metadata (one request) and produce (another).
  const attempt = o.connectTimeoutMs + 2 * o.requestTimeoutMs + o.retryDelayMs;
  return (producerRetries(o) + 1) * attempt + o.lingerMs;
}
