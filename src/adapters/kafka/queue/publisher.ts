import { setTimeout as sleep } from "node:timers/promises";
import { compatibilityPartitioner, Producer } from "@platformatic/kafka";
import { closeClient } from "../close.ts";
import { deliveryBoundMs, producerRetries, type ResolvedKafkaQueueOptions } from "./options.ts";
import { KafkaPublishError, type OutgoingMessage } from "./types.ts";

interface Waiting {
  messages: OutgoingMessage[];
  resolve: () => void;
  reject: (error: Error) => void;
}

/** Failed sends in a row after which the next one gets a new producer. */
const FRESH_AFTER_FAILURES = 3;

type KafkaProducer = Producer<string, string | Buffer, string, string>;

/**
 * The producing half of a KafkaQueue: an idempotent producer (acks=all, one
 * request in flight, so retries cannot reorder or duplicate) behind a
 * batcher that adds no timer by default. Values published in the same turn
 * of the event loop share one request (it is sent at the end of the turn,
 * setImmediate, as the journal's group commit does: every claim whose Redis
 * reply or HTTP request was read in this turn joins it); values published
 * while a request is in flight share the next one, sent the moment the
 * broker answers. Under load that gathers hundreds of claims per request
 * without making any of them wait for a clock; at low load a claim is sent
 * at once. `lingerMs` > 0 (KAFKA_LINGER_MS) waits that long after the first
 * value instead, for brokers that charge per request. Each caller's promise
 * settles when the broker acknowledged (or refused) the request carrying its
 * values.
 *
 * Every send settles within the delivery bound: the producer's retries are
 * bounded (producerRetries), and a send the client has not settled by then
 * (a request the broker never answers waits the client's own 30 s; a client
 * bug could wait forever: one stuck send would hold every later one) is
 * failed here.
 * After such a timeout, or FRESH_AFTER_FAILURES failed sends in a row, the
 * next send goes through a new producer (new connections, metadata and
 * producer id): whatever state kept the old one failing is gone. See
 * docs/kafka-client.md.
 */
export class Publisher {
  readonly #o: ResolvedKafkaQueueOptions<unknown>;
  #producer: KafkaProducer;
  /** Sends that failed in a row (reset by an acknowledgement). */
  #failures = 0;
  /** Producers replaced so far. */
  #generation = 0;
  #waiting: Waiting[] = [];
  #waitingCount = 0;
  #timer: NodeJS.Timeout | undefined;
  #turnScheduled = false;
  #inFlight: Promise<void> | undefined;
  #closed = false;

  constructor(options: ResolvedKafkaQueueOptions<unknown>) {
    this.#o = options;
    this.#producer = this.#newProducer();
  }

  #newProducer(): KafkaProducer {
    const options = this.#o;
    return new Producer({
      clientId: `${options.clientId}-producer`,
      bootstrapBrokers: [...options.brokers],
      idempotent: true,
      acks: -1,
      // Java's DefaultPartitioner (murmur2 & 0x7fffffff), not the client's own
      // default (murmur2 >>> 0): any Java tool or other client keying the same
      // way lands a user's claims on the same partition (platformatic/kafka#121).
      partitioner: compatibilityPartitioner,
      // Bounded, unlike the idempotent producer's default (retry forever, also
      // what it makes of retries 0 or 1: see producerRetries): publish() must
      // fail in a known time so the API can answer 503 and the rebuild after
      // a Redis loss knows how long a produce can stay in flight.
      retries: producerRetries(options),
      retryDelay: options.retryDelayMs,
      timeout: options.requestTimeoutMs,
      connectTimeout: options.connectTimeoutMs,
      serializers: {
        key: (key?: string) => (key === undefined ? undefined : Buffer.from(key)),
        value: (value?: string | Buffer) =>
          value === undefined ? undefined : typeof value === "string" ? Buffer.from(value) : value,
        headerKey: (key?: string) => (key === undefined ? undefined : Buffer.from(key)),
        headerValue: (value?: string) => (value === undefined ? undefined : Buffer.from(value)),
      },
    });
  }

  /**
   * Gets the producer its id (InitProducerId) now rather than at the first
   * send. On a cluster that just started, the brokers answer InitProducerId
   * with a retriable error for a second or so; with bounded retries the
   * first claims would fail (503) instead of waiting. Tries until `withinMs`
   * passed; never throws (the first send tries again).
   */
  async warmUp(withinMs = 15_000): Promise<void> {
    const deadline = performance.now() + withinMs;
    for (;;) {
      try {
        await this.#producer.initIdempotentProducer({});
        return;
      } catch (error) {
        if (this.#closed || performance.now() >= deadline) {
          this.#o.logger.warn({ err: error, topic: this.#o.topic }, "Kafka producer has no producer id yet");
          return;
        }
        await sleep(this.#o.retryDelayMs);
      }
    }
  }

  /** How many times the producer was replaced (see the class comment). */
  get generation(): number {
    return this.#generation;
  }

  /** Resolves once the broker acknowledged every message (acks=all). */
  send(messages: OutgoingMessage[]): Promise<void> {
    if (this.#closed) return Promise.reject(new Error(`publisher for ${this.#o.topic} is closed`));
    if (messages.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.#waiting.push({ messages, resolve, reject });
      this.#waitingCount += messages.length;
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#inFlight) return; // the request in flight dispatches what gathered meanwhile
    if (this.#waitingCount >= this.#o.maxBatch) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#dispatch();
      return;
    }
    if (this.#o.lingerMs === 0) {
      // No linger: send at the end of this turn of the event loop (what this
      // turn published shares the request; what comes while it is in flight,
      // the next one).
      if (!this.#turnScheduled) {
        this.#turnScheduled = true;
        setImmediate(() => {
          this.#turnScheduled = false;
          if (!this.#inFlight) this.#dispatch();
        });
      }
      return;
    }
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      this.#dispatch();
    }, this.#o.lingerMs);
  }

  #dispatch(): void {
    if (this.#waiting.length === 0) return;
    // Whole callers only: one caller's values succeed or fail together.
    const batch: Waiting[] = [];
    let count = 0;
    while (
      this.#waiting.length > 0 &&
      (count === 0 || count + this.#waiting[0]!.messages.length <= this.#o.maxBatch)
    ) {
      const next = this.#waiting.shift()!;
      batch.push(next);
      count += next.messages.length;
    }
    this.#waitingCount -= count;
    const topic = this.#o.topic;
    const messages = batch.flatMap((w) =>
      w.messages.map((m) => ({ topic, key: m.key, value: m.value, headers: m.headers })),
    );
    this.#inFlight = this.#bounded(this.#producer.send({ messages })).then(
      () => {
        this.#failures = 0;
        for (const w of batch) w.resolve();
      },
      (error: unknown) => {
        const failure = new KafkaPublishError(topic, error);
        for (const w of batch) w.reject(failure);
        this.#failed(error);
      },
    );
    void this.#inFlight.finally(() => {
      this.#inFlight = undefined;
      // Whatever gathered during the request has waited long enough: send it now.
      if (this.#waiting.length > 0) this.#dispatch();
    });
  }

  /** The send, or a failure once the delivery bound (and a margin) passed without the client settling it. */
  #bounded(send: Promise<unknown>): Promise<unknown> {
    let timer: NodeJS.Timeout | undefined;
    const limit = deliveryBoundMs(this.#o) + 1000;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new SendTimeoutError(limit)), limit);
    });
    return Promise.race([send, timeout]).finally(() => clearTimeout(timer));
  }

  /** After a stuck send or a streak of failed ones, the next send goes through a new producer. */
  #failed(error: unknown): void {
    this.#failures++;
    if (this.#closed) return;
    if (!(error instanceof SendTimeoutError) && this.#failures < FRESH_AFTER_FAILURES) return;
    const old = this.#producer;
    this.#producer = this.#newProducer();
    this.#generation++;
    this.#failures = 0;
    this.#o.logger.warn(
      { topic: this.#o.topic, err: error, generation: this.#generation },
      "Kafka producer replaced after failed sends; the next send uses new connections and metadata",
    );
    // A request still stuck in it fails with it; nobody waits on it any more.
    void closeClient(old, true);
  }

  /** Sends what is waiting, then closes the producer. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#dispatch();
    while (this.#inFlight) await this.#inFlight.catch(() => undefined);
    await closeClient(this.#producer);
  }
}

class SendTimeoutError extends Error {
  constructor(ms: number) {
    super(`the Kafka client did not settle the send within ${ms} ms (the delivery bound)`);
    this.name = "SendTimeoutError";
  }
}
