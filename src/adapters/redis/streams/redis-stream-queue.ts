import { setTimeout as sleep } from "node:timers/promises";
import type { BatchHandler, ConsumeOptions, Consumer, Queue, QueueLag } from "../../../ports/queue.ts";
import { PeriodicTask } from "../../../workers/periodic-task.ts";
import { consumeInParallel } from "../../parallel.ts";
import type { RedisClient } from "../connection.ts";
import { duplicate, groupBySlot, isCluster } from "../nodes.ts";
import { ReplicaWait } from "../replicas/replica-wait.ts";
import { redisScripts, type Scripts } from "../scripts.ts";
import { ack, forgetIdleConsumers, readGroup, streamsLag, takeOver, touch } from "./group.ts";
import { DATA_FIELD, DEFAULTS, QueueFullError, type RedisStreamQueueOptions } from "./options.ts";
import { ReplicaReads } from "./replica-reads.ts";
import { type Entry, EntryDecoder } from "./replies.ts";

const RETRY_MIN_MS = 50;
const RETRY_MAX_MS = 5000;
/** The first wait after an empty pass over the slots of a cluster (then doubled, up to blockMs). */
const MIN_POLL_MS = 10;

/**
 * Queue<T> over Redis Streams and one consumer group. Each consumer reads new
 * entries with XREADGROUP (on a connection of its own, since BLOCK holds it),
 * hands them to the handler in batches, and XACKs a batch only after the
 * handler resolved; a failing batch is retried with backoff while its entries
 * stay pending (their idle time reset, so nobody takes them over meanwhile).
 * Entries left pending by a dead consumer are taken over with XAUTOCLAIM
 * after `claimIdleMs`. Streams are trimmed by MINID, never past an entry some
 * group still needs (lua/trim-acknowledged-1.lua).
 */
export class RedisStreamQueue<T> implements Queue<T> {
  readonly #o: RedisStreamQueueOptions<T>;
  readonly #redis: RedisClient;
  readonly #scripts: Scripts;
  /** Take-over and trimming, while any consumer loop runs. */
  readonly #maintenance: PeriodicTask;
  readonly #groups = new Set<string>();
  /** Entries taken over from dead consumers, handled before new ones. */
  #reclaimed: Entry<T>[] = [];
  readonly #decoder: EntryDecoder<T>;
  #streams: string[] = [];
  #refreshedAt = -Infinity;

  constructor(options: RedisStreamQueueOptions<T>) {
    this.#o = options;
    this.#redis = options.redis;
    this.#scripts = redisScripts(options.redis);
    this.#decoder = new EntryDecoder(options.codec, options.logger);
    this.#replicaReads =
      options.replicas &&
      new ReplicaReads(
        new ReplicaWait({
          redis: options.redis,
          replicas: options.replicas.count,
          timeoutMs: options.replicas.timeoutMs,
        }),
        options.logger,
      );
    this.#maintenance = new PeriodicTask({
      intervalMs: options.maintenanceMs ?? DEFAULTS.maintenanceMs,
      run: () => this.#maintain(this.#maintenanceBatchSize),
      logger: options.logger,
      failureMessage: "queue maintenance failed; retrying later",
    });
  }

  async publish(values: readonly T[]): Promise<void> {
    const { codec, maxLen } = this.#o;
    await Promise.all(
      values.map(async (value) => {
        const stream = this.#streamFor(value);
        const id = await this.#scripts.publishCapped([stream], [maxLen, DATA_FIELD, codec.encode(value)]);
        if (id === null) throw new QueueFullError(stream);
      }),
    );
  }

  #streamFor(value: T): string {
    if (this.#o.streamFor) return this.#o.streamFor(value);
    const { streams } = this.#o;
    if (typeof streams === "function" || streams[0] === undefined)
      throw new Error("publish() needs streamFor when the streams are not fixed");
    return streams[0];
  }

  /**
   * Starts a consumer loop, or `concurrency` of them (the task worker runs
   * TASK_CONCURRENCY): the loops share this process's consumer name, its
   * taken-over entries and its maintenance; each blocks on a connection of
   * its own and acknowledges its own entries.
   */
  consume(handler: BatchHandler<T>, options: ConsumeOptions): Consumer {
    const parallel = consumeInParallel(options, (one) => this.consume(handler, one));
    if (parallel) return parallel;
    let running = true;
    this.#maintenanceBatchSize = options.batchSize;
    this.#maintenance.start();
    const blocking = this.#loops++ === 0 ? this.#o.blocking : duplicate(this.#o.blocking);
    // Entries this consumer name left pending (a restart under the same INSTANCE_ID) come first, once.
    this.#recovered ??= this.#recoverOwnPending();
    const blockMs = this.#o.blockMs ?? DEFAULTS.blockMs;
    const loop = async () => {
      await this.#recovered;
      while (running) {
        let batch: Entry<T>[];
        try {
          batch = this.#reclaimed.splice(0, options.batchSize);
          if (batch.length === 0) {
            const streams = await this.#currentStreams();
            if (streams.length === 0) {
              await sleep(blockMs);
              continue;
            }
            batch = await this.#read(streams, ">", options.batchSize, blockMs, blocking);
            if (batch.length > 0 && batch.length < options.batchSize && options.flushIntervalMs > 0) {
              await sleep(options.flushIntervalMs);
              batch.push(...(await this.#read(streams, ">", options.batchSize - batch.length)));
            }
          }
        } catch (error) {
          await this.#recover(error);
          continue;
        }
        if (batch.length === 0) continue;
        batch = await this.#replicated(batch);
        if (batch.length === 0) {
          await sleep(RETRY_MAX_MS / 10);
          continue;
        }
        await this.#handle(batch, handler, () => running);
      }
    };
    const done = loop();
    return {
      stop: async () => {
        running = false;
        await done;
        if (blocking !== this.#o.blocking) blocking.disconnect();
        if (--this.#loops === 0) await this.#maintenance.stop();
      },
    };
  }

  #loops = 0;
  #recovered: Promise<void> | undefined;
  #maintenanceBatchSize = 1;

  /** Reads this consumer's own pending entries (XREADGROUP from 0, page by page) into the take-over buffer. */
  async #recoverOwnPending(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        for (const stream of await this.#currentStreams()) {
          let from = "0";
          for (;;) {
            const { entries, lastId } = await this.#readPage(stream, from, 1000);
            this.#reclaimed.push(...entries);
            if (lastId === undefined) break;
            from = lastId;
          }
        }
        return;
      } catch (error) {
        if (attempt >= 3) {
          // The entries stay pending; another consumer takes them over after the idle time.
          this.#o.logger.warn({ err: error }, "could not read this consumer's pending entries");
          return;
        }
        await this.#recover(error);
      }
    }
  }

  async #readPage(stream: string, from: string, count: number) {
    const { group, consumer } = this.#o;
    const [read] = await readGroup(this.#redis, group, consumer, count, [stream], from);
    const raw = read?.[1] ?? [];
    const entries = this.#decoder.entries(stream, raw);
    return {
      entries: this.#pin(entries, this.#o.redis, stream),
      lastId: raw.length === count ? raw.at(-1)![0] : undefined,
    };
  }

  /** With `replicas`: which node served each entry, and what replicas hold (./replica-reads.ts). */
  readonly #replicaReads: ReplicaReads<T> | undefined;

  /** Remembers which node served these entries (with `replicas`). */
  #pin(entries: Entry<T>[], connection: RedisClient, stream: string): Entry<T>[] {
    if (this.#replicaReads && entries.length > 0) this.#replicaReads.pin(entries, connection, stream);
    return entries;
  }

  /** With `replicas`: the part of the batch replicas hold; the rest comes back in the next batches. */
  async #replicated(batch: Entry<T>[]): Promise<Entry<T>[]> {
    if (!this.#replicaReads) return batch;
    return this.#replicaReads.replicated(batch, (entries) => this.#reclaimed.unshift(...entries));
  }

  /** Runs the handler until it succeeds (or the consumer stops), then acknowledges. */
  async #handle(batch: Entry<T>[], handler: BatchHandler<T>, running: () => boolean): Promise<void> {
    let failures = 0;
    for (;;) {
      try {
        await handler(batch.map((e) => e.value));
        break;
      } catch (error) {
        failures++;
        this.#o.logger.warn(
          { err: error, size: batch.length, attempt: failures },
          "batch failed; it stays pending and is retried",
        );
        if (!running()) return; // left pending: a live consumer takes it over
        await sleep(Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** failures));
        await touch(this.#redis, this.#o.group, this.#o.consumer, batch).catch(() => undefined);
      }
    }
    for (;;) {
      try {
        await ack(this.#redis, this.#o.group, batch);
        return;
      } catch (error) {
        // Unacknowledged entries are only redelivered (harmless), but try again while Redis comes back.
        this.#o.logger.warn({ err: error }, "XACK failed; retrying");
        if (!running()) return;
        await sleep(RETRY_MAX_MS / 5);
      }
    }
  }

  /**
   * New (or own pending) entries of these streams. On a cluster, streams of
   * several slots cannot share an XREADGROUP (CROSSSLOT): each slot gets one,
   * without BLOCK (a blocked read would hold its node's connection for the
   * others), all sent at once; when none has anything, the loop waits a
   * little, longer after each empty pass, up to `blockMs`.
   */
  async #read(streams: string[], from: string, count: number, blockMs?: number, blocking?: RedisClient) {
    const groups = isCluster(this.#redis) ? groupBySlot(streams) : [streams];
    if (groups.length === 1) return this.#readSlot(streams, from, count, blockMs, blocking);
    const out = (await Promise.all(groups.map((group) => this.#readSlot(group, from, count)))).flat();
    if (blockMs !== undefined) {
      if (out.length > 0) this.#idlePollMs = 0;
      else {
        this.#idlePollMs = Math.min(blockMs, Math.max(MIN_POLL_MS, this.#idlePollMs * 2));
        await sleep(this.#idlePollMs);
      }
    }
    return out;
  }

  #idlePollMs = 0;

  /** One XREADGROUP over streams of one slot. */
  async #readSlot(streams: string[], from: string, count: number, blockMs?: number, blocking?: RedisClient) {
    const { group, consumer } = this.#o;
    const connection = blockMs === undefined || !blocking ? this.#redis : blocking;
    const read = await readGroup(connection, group, consumer, count, streams, from, blockMs);
    const out = read.flatMap(([stream, entries]) => this.#decoder.entries(stream, entries));
    return this.#pin(out, connection, streams[0]!);
  }

  async #currentStreams(): Promise<string[]> {
    const { streams } = this.#o;
    const refreshMs = this.#o.refreshMs ?? DEFAULTS.refreshMs;
    if (performance.now() - this.#refreshedAt >= refreshMs) {
      this.#streams = typeof streams === "function" ? (await streams()).sort() : [...streams];
      this.#refreshedAt = performance.now();
      for (const stream of this.#streams) if (!this.#groups.has(stream)) await this.#ensureGroup(stream);
    }
    return this.#streams;
  }

  async #ensureGroup(stream: string): Promise<void> {
    try {
      // From the start ("0"): a stream created before its group loses nothing.
      await this.#redis.xgroup("CREATE", stream, this.#o.group, "0", "MKSTREAM");
    } catch (error) {
      if (!String((error as Error).message).startsWith("BUSYGROUP")) throw error;
    }
    this.#groups.add(stream);
  }

  async #recover(error: unknown): Promise<void> {
    const message = String((error as Error)?.message ?? error);
    if (message.includes("NOGROUP")) {
      // The stream or its group vanished (Redis flushed or restarted empty): create them again.
      this.#o.logger.warn("consumer group missing; creating it again");
      this.#groups.clear();
      this.#refreshedAt = -Infinity;
      return;
    }
    this.#o.logger.warn({ err: error }, "reading the queue failed; retrying");
    await sleep(RETRY_MAX_MS / 10);
  }

  /** Takes over entries of dead consumers, trims what every group is done with. */
  async #maintain(batchSize: number): Promise<void> {
    const { group, consumer, claimIdleMs } = this.#o;
    for (const stream of this.#streams) {
      if (this.#reclaimed.length < batchSize * 4) {
        const { claimed, deleted } = await takeOver(
          this.#redis,
          stream,
          group,
          consumer,
          claimIdleMs,
          batchSize,
        );
        const taken = this.#decoder.entries(stream, claimed);
        this.#reclaimed.push(...this.#pin(taken, this.#redis, stream));
        if (claimed.length > 0)
          this.#o.logger.info({ stream, entries: claimed.length }, "took over entries of a silent consumer");
        if (deleted?.length) await this.#redis.xack(stream, group, ...deleted);
      }
      await this.#scripts.trimAcknowledged([stream]);
    }
    await this.#forgetIdleConsumers();
  }

  #lastConsumerSweep = 0;
  /** At most once a minute: consumers that own nothing and were silent for an hour go. */
  async #forgetIdleConsumers(): Promise<void> {
    if (Date.now() - this.#lastConsumerSweep < 60_000) return;
    this.#lastConsumerSweep = Date.now();
    await forgetIdleConsumers(this.#redis, this.#streams, this.#o.group, this.#o.consumer);
  }

  async lag(): Promise<QueueLag[]> {
    const streams = await this.#currentStreams().catch(() => this.#streams);
    return streamsLag(this.#redis, streams, this.#o.group, typeof this.#o.streams === "function");
  }

  async ping(): Promise<void> {
    await this.#redis.ping();
  }

  async close(): Promise<void> {}
}
