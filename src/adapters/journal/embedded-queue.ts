import type { BatchHandler, ConsumeOptions, Consumer, Queue, QueueLag } from "../../ports/queue.ts";
import { consumeInParallel } from "../parallel.ts";
import { Journal, type JournalOptions } from "./journal.ts";

/**
 * The embedded mode's queue: in memory, backed by a Journal. publish()
 * resolves once the values are fsync'ed, then hands them to the consumer; a
 * batch is acknowledged in the journal when its handler resolves. After a
 * crash, open() returns what was published and not acknowledged, already
 * queued again for the consumer.
 */
interface Entry<T> {
  seq: number;
  value: T;
}

/** How values are written to and read from the journal (e.g. versioned claim messages). */
export interface JournalCodec<T> {
  encode(value: T): unknown;
  /** Throws when a record cannot be read; open() then fails rather than lose it. */
  decode(raw: unknown): T;
}

const identity: JournalCodec<never> = { encode: (v) => v, decode: (raw) => raw as never };

const RETRY_MIN_MS = 50;
const RETRY_MAX_MS = 5000;

export class EmbeddedQueue<T> implements Queue<T> {
  readonly #journal: Journal;
  readonly #name: string;
  readonly #codec: JournalCodec<T>;
  #buffer: Entry<T>[] = [];
  #inFlight = 0;
  /** Consumers waiting for values; consume() may be called more than once (a worker's concurrency). */
  readonly #waiting = new Set<() => void>();
  #closed = false;

  private constructor(journal: Journal, name: string, codec: JournalCodec<T>) {
    this.#journal = journal;
    this.#name = name;
    this.#codec = codec;
  }

  static async open<T>(
    dir: string,
    name: string,
    options: JournalOptions = {},
    codec: JournalCodec<T> = identity,
  ): Promise<{ queue: EmbeddedQueue<T>; recovered: T[] }> {
    const { journal, records } = await Journal.open(dir, options);
    const queue = new EmbeddedQueue<T>(journal, name, codec);
    const recovered: T[] = [];
    try {
      for (const record of records) {
        const value = codec.decode(record.value);
        queue.#buffer.push({ seq: record.seq, value });
        recovered.push(value);
      }
    } catch (error) {
      await journal.close();
      throw new Error(`journal ${name} in ${dir}: ${(error as Error).message}`, { cause: error });
    }
    return { queue, recovered };
  }

  get journal(): Journal {
    return this.#journal;
  }

  async publish(values: readonly T[]): Promise<void> {
    if (this.#closed) throw new Error(`queue ${this.#name} is closed`);
    const seqs = await this.#journal.append(values.map((v) => this.#codec.encode(v)));
    for (let i = 0; i < values.length; i++) this.#buffer.push({ seq: seqs[i]!, value: values[i]! });
    this.#wakeAll();
  }

  consume(handler: BatchHandler<T>, options: ConsumeOptions): Consumer {
    const parallel = consumeInParallel(options, (one) => this.consume(handler, one));
    if (parallel) return parallel;
    let running = true;
    const loop = async () => {
      let failures = 0;
      while (running) {
        if (this.#buffer.length === 0) {
          await new Promise<void>((resolve) => this.#waiting.add(resolve));
          continue;
        }
        if (this.#buffer.length < options.batchSize && options.flushIntervalMs > 0) {
          await sleep(options.flushIntervalMs);
        }
        const batch = this.#buffer.splice(0, options.batchSize);
        this.#inFlight += batch.length;
        try {
          await handler(batch.map((e) => e.value));
          await this.#journal.ack(batch.map((e) => e.seq));
          failures = 0;
        } catch {
          // The handler failed (e.g. the ledger is unavailable): put the batch
          // back in front, unacknowledged, and retry with backoff.
          this.#buffer.unshift(...batch);
          failures++;
          await sleep(Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** failures));
        } finally {
          this.#inFlight -= batch.length;
        }
      }
    };
    const done = loop();
    return {
      stop: async () => {
        running = false;
        this.#wakeAll();
        await done;
      },
    };
  }

  #wakeAll(): void {
    const waiting = [...this.#waiting];
    this.#waiting.clear();
    for (const wake of waiting) wake();
  }

  async lag(): Promise<QueueLag[]> {
    return [{ source: this.#name, lag: this.#buffer.length + this.#inFlight }];
  }

  async ping(): Promise<void> {
    if (this.#journal.failure) throw this.#journal.failure;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#journal.close();
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
