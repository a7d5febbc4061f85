import { setTimeout as sleep } from "node:timers/promises";
import { Admin } from "@platformatic/kafka";
import type { BatchHandler, ConsumeOptions, Consumer, Queue, QueueLag } from "../../../ports/queue.ts";
import { closeClient } from "../close.ts";
import { BatchConsumer } from "./batch-consumer.ts";
import { consumedThrough, endOffsets, topicLag } from "./lag.ts";
import {
  deliveryBoundMs,
  type KafkaQueueOptions,
  type ResolvedKafkaQueueOptions,
  resolveOptions,
} from "./options.ts";
import { Publisher } from "./publisher.ts";
import { describeTopic, ensureTopic } from "./topic.ts";
import type { PartitionLag, TopicDescription } from "./types.ts";

/**
 * Queue<T> over one Kafka topic and one consumer group. Generic: claims use
 * one topic, the issued events another (publish-only: no group). open()
 * creates the topic when it is missing. publish() resolves once the broker
 * acknowledged (acks=all, idempotent producer, short linger batching; see
 * publisher.ts). consume() joins the group and commits a batch only after its
 * handler resolved (see batch-consumer.ts). lag() reads the group's lag per
 * partition from the broker, so any process can report it.
 */
export class KafkaQueue<T> implements Queue<T> {
  readonly #o: ResolvedKafkaQueueOptions<T>;
  readonly #admin: Admin;
  readonly #publisher: Publisher;
  readonly #consumers = new Set<BatchConsumer<T>>();
  #closed = false;

  private constructor(options: ResolvedKafkaQueueOptions<T>) {
    this.#o = options;
    this.#admin = new Admin({
      clientId: `${options.clientId}-admin`,
      bootstrapBrokers: [...options.brokers],
      timeout: options.requestTimeoutMs,
      connectTimeout: options.connectTimeoutMs,
      retries: options.retries,
      retryDelay: options.retryDelayMs,
    });
    this.#publisher = new Publisher(options as ResolvedKafkaQueueOptions<unknown>);
  }

  /** Connects and makes sure the topic exists (creating it with `partitions` when missing). */
  static async open<T>(options: KafkaQueueOptions<T>): Promise<KafkaQueue<T>> {
    const queue = new KafkaQueue<T>(resolveOptions(options));
    try {
      const created = await ensureTopic(queue.#admin, {
        topic: options.topic,
        partitions: options.partitions,
        replicationFactor: options.replicationFactor,
        minInsyncReplicas: options.minInsyncReplicas,
      });
      if (created)
        options.logger.info({ topic: options.topic, partitions: options.partitions }, "Kafka topic created");
    } catch (error) {
      await queue.close();
      throw new Error(
        `cannot reach Kafka (KAFKA_BROKERS) or create topic ${options.topic}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    await queue.#publisher.warmUp();
    return queue;
  }

  get topic(): string {
    return this.#o.topic;
  }

  get group(): string {
    return this.#group();
  }

  /** The consumer group, which consume() and lag() need; a publish-only queue has none. */
  #group(): string {
    if (this.#o.group === undefined)
      throw new Error(`the Kafka queue on ${this.#o.topic} only publishes: it has no consumer group`);
    return this.#o.group;
  }

  /** How long a publish may stay in flight before it is certainly in the topic or certainly not. */
  get deliveryBoundMs(): number {
    return deliveryBoundMs(this.#o);
  }

  publish(values: readonly T[]): Promise<void> {
    const { codec, keyOf, headersOf } = this.#o;
    return this.#publisher.send(
      values.map((v) => ({ key: keyOf(v), value: codec.encode(v), headers: headersOf?.(v) })),
    );
  }

  consume(handler: BatchHandler<T>, options: ConsumeOptions): Consumer {
    const consumer = new BatchConsumer<T>({ ...this.#o, group: this.#group() }, handler, options);
    this.#consumers.add(consumer);
    return {
      stop: async () => {
        this.#consumers.delete(consumer);
        await consumer.stop();
      },
    };
  }

  async lag(): Promise<QueueLag[]> {
    return (await this.partitionLag()).map((p) => ({
      source: `${this.#o.topic}/${p.partition}`,
      lag: p.lag,
    }));
  }

  partitionLag(): Promise<PartitionLag[]> {
    return topicLag(this.#admin, this.#o.topic, this.#group());
  }

  /**
   * Resolves once the group has consumed everything that is in the topic now,
   * or may still land in it: it first waits `settleMs` (default: the delivery
   * bound) so that publishes already in flight are in, then takes the end of
   * every partition and polls until the group's commits reach it. Used by the
   * rebuild after a Redis loss: then every claim ever acknowledged is in the
   * ledger.
   */
  async waitUntilConsumed(
    options: { settleMs?: number; pollMs?: number; signal?: AbortSignal } = {},
  ): Promise<void> {
    const settle = options.settleMs ?? this.deliveryBoundMs;
    if (settle > 0) await sleep(settle);
    const targets = await endOffsets(this.#admin, this.#o.topic);
    for (;;) {
      options.signal?.throwIfAborted();
      if (await consumedThrough(this.#admin, this.#o.topic, this.#group(), targets)) return;
      await sleep(options.pollMs ?? 200);
    }
  }

  describeTopic(): Promise<TopicDescription | undefined> {
    return describeTopic(this.#admin, this.#o.topic);
  }

  /** Deletes the topic (tests). */
  async deleteTopic(): Promise<void> {
    await this.#admin.deleteTopics({ topics: [this.#o.topic] });
  }

  async ping(): Promise<void> {
    await this.#admin.metadata({ topics: [this.#o.topic], forceUpdate: true });
  }

  /** Whether every consume() of this queue has joined the group (a worker's readiness). */
  get consuming(): boolean {
    return [...this.#consumers].every((c) => c.joined);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#consumers].map((c) => c.stop()));
    await this.#publisher.close();
    await closeClient(this.#admin);
  }
}
