import type { Logger } from "pino";
import { type IssuedEvent, issuedEvent, parseIssuedEvent } from "../../domain/issued-event.ts";
import type { Claim } from "../../domain/types.ts";
import type { IssuedSink } from "../../ports/delivery.ts";
import { KafkaQueue } from "./queue/index.ts";

/**
 * Kafka mode's `issued` topic (KAFKA_ISSUED_TOPIC): every claim a worker
 * issued, as the webhook's body (issued-event.ts), for the shop's systems.
 *
 * - Keyed by campaign id: one campaign's events land on one partition, in
 *   the order the workers issued them.
 * - Headers `stampede-delivery-id` (the body's deliveryId, the consumers'
 *   deduplication key) and `stampede-event: claim.issued`, as the webhook's.
 * - At least once: the claim worker publishes a batch after its ledger write
 *   and before it commits the claims' offsets, and a failed publish fails the
 *   batch, which is retried (the ledger reports it issued again) and not
 *   committed until this publish resolved. A crash or a lost acknowledgement
 *   publishes events again; consumers drop the delivery ids they have seen.
 *
 * The producer is KafkaQueue's (acks=all, idempotent, bounded retries): this
 * opens a publish-only KafkaQueue on the topic, creating it when missing.
 */
export const DELIVERY_ID_HEADER = "stampede-delivery-id";
export const EVENT_HEADER = "stampede-event";

/**
 * Most events in one produce request. A campaign's events share a partition,
 * so a request is one record batch, which the broker refuses past
 * message.max.bytes (1 MiB by default): 500 events of at most ~1 KiB each
 * (a 128-character user id in 4-byte UTF-8) stay under it, whatever BATCH_SIZE.
 */
const EVENTS_PER_REQUEST = 500;

export interface KafkaIssuedSinkOptions {
  brokers: readonly string[];
  topic: string;
  /** Partitions and replicas when this creates the topic (an existing topic keeps its own). */
  partitions: number;
  replicationFactor?: number;
  /** Names the producer in broker logs. */
  clientId: string;
  logger: Logger;
  /** One broker request's timeout (tests shorten it; see queue/options.ts). */
  requestTimeoutMs?: number;
}

export const issuedEventCodec = {
  encode: (event: IssuedEvent) => JSON.stringify(event),
  decode: (data: Buffer) => parseIssuedEvent(JSON.parse(data.toString("utf8"))),
};

export class KafkaIssuedSink implements IssuedSink {
  readonly #queue: KafkaQueue<IssuedEvent>;

  private constructor(queue: KafkaQueue<IssuedEvent>) {
    this.#queue = queue;
  }

  /** Connects and makes sure the topic exists; throws one line naming the topic when Kafka does not answer. */
  static async open(options: KafkaIssuedSinkOptions): Promise<KafkaIssuedSink> {
    const queue = await KafkaQueue.open<IssuedEvent>({
      brokers: options.brokers,
      topic: options.topic,
      partitions: options.partitions,
      replicationFactor: options.replicationFactor,
      clientId: options.clientId,
      codec: issuedEventCodec,
      keyOf: (event) => event.claim.campaignId,
      headersOf: (event) => ({ [DELIVERY_ID_HEADER]: event.deliveryId, [EVENT_HEADER]: event.event }),
      logger: options.logger,
      // A worker's batch is already gathered: no linger, one request per chunk.
      lingerMs: 0,
      maxBatch: EVENTS_PER_REQUEST,
      requestTimeoutMs: options.requestTimeoutMs,
    });
    return new KafkaIssuedSink(queue);
  }

  get topic(): string {
    return this.#queue.topic;
  }

  /** Resolves once the broker acknowledged every event (acks=all); rejects when any chunk was refused. */
  async publish(claims: readonly Claim[]): Promise<void> {
    const events = claims.map(issuedEvent);
    // Chunks queued at once: the producer sends them one request after the
    // other (one in flight), so the order within a campaign holds.
    const chunks: Promise<void>[] = [];
    for (let i = 0; i < events.length; i += EVENTS_PER_REQUEST)
      chunks.push(this.#queue.publish(events.slice(i, i + EVENTS_PER_REQUEST)));
    await Promise.all(chunks);
  }

  ping(): Promise<void> {
    return this.#queue.ping();
  }

  close(): Promise<void> {
    return this.#queue.close();
  }
}
