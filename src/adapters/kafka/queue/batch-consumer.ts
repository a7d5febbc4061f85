import { setTimeout as sleep } from "node:timers/promises";
import { Consumer as KafkaConsumer, type Message, type MessagesStream } from "@platformatic/kafka";
import type { BatchHandler, ConsumeOptions, Consumer } from "../../../ports/queue.ts";
import { closeClient } from "../close.ts";
import { CommitTracker } from "./commit-tracker.ts";
import type { ResolvedKafkaQueueOptions } from "./options.ts";
import { StreamBatcher } from "./stream-batcher.ts";

type Raw = Message<Buffer, Buffer, Buffer, Buffer>;

const RETRY_MIN_MS = 50;
const RETRY_MAX_MS = 5000;

async function destroyStream(stream: MessagesStream<Buffer, Buffer, Buffer, Buffer>): Promise<void> {
  if (stream.closed) return;
  const closed = new Promise<void>((resolve) => stream.once("close", () => resolve()));
  stream.destroy();
  await Promise.race([closed, sleep(5000)]);
}

/**
 * The consuming half of a KafkaQueue: one member of the consumer group,
 * handing the messages of its partitions to the handler in batches and
 * committing a batch's offsets only after the handler resolved (so only after
 * the batch is in the ledger). With `concurrency` above 1 (the task worker),
 * several batches are in hand at once and a partition's commit never passes
 * one still running. Everything else is redelivery, which the ledger (or the
 * task store) makes harmless:
 *
 * - a failing batch is retried in place, with backoff, never skipped;
 * - a worker that dies (kill -9) stops heartbeating; after the session
 *   timeout the group gives its partitions to the others, which start from
 *   the last committed offsets;
 * - a rebalance while a batch is in hand: the batch finishes and is committed
 *   (possibly by a member that no longer owns the partition; the new owner
 *   may redo part of it);
 * - a group that never committed starts from the EARLIEST offset, never the
 *   latest: claims published before the first worker joined are not skipped
 *   (and a client bug that falls back where it should not, like
 *   platformatic/kafka#267, costs redelivery, not loss);
 * - when the message stream fails, this member leaves the group and joins
 *   again from the committed offsets, after a backoff.
 */
export class BatchConsumer<T> implements Consumer {
  readonly #o: ResolvedKafkaQueueOptions<T> & { group: string };
  readonly #handler: BatchHandler<T>;
  readonly #options: ConsumeOptions;
  #running = true;
  #joined = false;
  #batcher: StreamBatcher<Raw> | undefined;
  #committing: Promise<void> = Promise.resolve();
  readonly #done: Promise<void>;
  /** Offsets that failed to decode, logged once each. */
  readonly #undecodable = new Set<string>();

  constructor(
    options: ResolvedKafkaQueueOptions<T> & { group: string },
    handler: BatchHandler<T>,
    consume: ConsumeOptions,
  ) {
    this.#o = options;
    this.#handler = handler;
    this.#options = consume;
    this.#done = this.#run();
  }

  async #run(): Promise<void> {
    let failures = 0;
    while (this.#running) {
      const consumer = this.#newConsumer();
      let stream: MessagesStream<Buffer, Buffer, Buffer, Buffer> | undefined;
      try {
        stream = await consumer.consume({
          topics: [this.#o.topic],
          mode: "committed",
          fallbackMode: "earliest",
          autocommit: false,
          maxWaitTime: this.#o.fetchMaxWaitMs,
          highWaterMark: Math.max(1024, this.#options.batchSize * 2),
          sessionTimeout: this.#o.sessionTimeoutMs,
          heartbeatInterval: this.#o.heartbeatIntervalMs,
          rebalanceTimeout: this.#o.sessionTimeoutMs + 5000,
        });
        failures = 0;
        this.#joined = true;
        await this.#drain(consumer, stream);
      } catch (error) {
        if (this.#running) {
          failures++;
          this.#o.logger.warn(
            { err: error, attempt: failures },
            "Kafka consumer failed; joining the group again",
          );
        }
      } finally {
        this.#joined = false;
        this.#batcher = undefined;
        // The stream first, by destroying it: its graceful close() waits for
        // the stream to end, which sometimes never happened here, and then
        // the consumer never left the group (it kept heartbeating, holding
        // its partitions). Unread messages are simply read again by someone.
        if (stream) await destroyStream(stream);
        // Leaves the group at once, so the others take over without waiting
        // for the session timeout. leaveGroup() first: it marks the member
        // inactive at once, so a rejoin still in flight cannot re-arm the
        // heartbeat after close() (seen here: a closed consumer heartbeating
        // forever, kept alive by a JoinGroup answer that came in late).
        const left = new Promise<void>((resolve) => consumer.leaveGroup(true, () => resolve()));
        await Promise.race([left, sleep(5000)]);
        await closeClient(consumer, true);
      }
      if (this.#running && failures > 0) await sleep(Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** failures));
    }
  }

  #newConsumer(): KafkaConsumer<Buffer, Buffer, Buffer, Buffer> {
    const o = this.#o;
    return new KafkaConsumer({
      clientId: `${o.clientId}-consumer`,
      groupId: o.group,
      bootstrapBrokers: [...o.brokers],
      autocommit: false,
      sessionTimeout: o.sessionTimeoutMs,
      heartbeatInterval: o.heartbeatIntervalMs,
      rebalanceTimeout: o.sessionTimeoutMs + 5000,
      timeout: o.requestTimeoutMs,
      connectTimeout: o.connectTimeoutMs,
      retryDelay: o.retryDelayMs,
      maxWaitTime: o.fetchMaxWaitMs,
    });
  }

  /**
   * Batches until stopped; throws when the stream fails (the caller joins
   * again). Up to `concurrency` batches are in hand at once, each committed
   * when its handler resolved, never past an earlier one still running (see
   * commit-tracker.ts). Before it returns, the batches in hand settle.
   */
  async #drain(
    consumer: KafkaConsumer<Buffer, Buffer, Buffer, Buffer>,
    stream: MessagesStream<Buffer, Buffer, Buffer, Buffer>,
  ): Promise<void> {
    const batcher = new StreamBatcher<Raw>(stream);
    this.#batcher = batcher;
    const tracker = new CommitTracker();
    const inHand = new Set<Promise<void>>();
    const concurrency = Math.max(1, this.#options.concurrency ?? 1);
    try {
      while (this.#running) {
        if (inHand.size >= concurrency) {
          await Promise.race(inHand);
          continue;
        }
        const messages = await batcher.next(this.#options.batchSize, this.#options.flushIntervalMs);
        if (messages.length === 0) {
          if (batcher.failure) throw batcher.failure;
          continue;
        }
        tracker.read(messages);
        const work = this.#handle(messages).then(async (handled) => {
          // Stopped with the batch unfinished: it stays in hand, nothing at or after it is committed.
          if (!handled) return;
          tracker.done(messages);
          await this.#commit(consumer, tracker);
        });
        inHand.add(work);
        void work.then(() => inHand.delete(work));
      }
    } finally {
      await Promise.all(inHand);
    }
  }

  /** Runs the handler until it succeeds; false when the consumer stopped first. */
  async #handle(messages: Raw[]): Promise<boolean> {
    let failures = 0;
    for (;;) {
      try {
        await this.#handler(this.#decode(messages));
        return true;
      } catch (error) {
        failures++;
        this.#o.logger.warn(
          { err: error, size: messages.length, attempt: failures },
          "batch failed; it is retried, and its offsets stay uncommitted",
        );
        if (!this.#running) return false;
        await sleep(Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** failures));
        if (!this.#running) return false;
      }
    }
  }

  #decode(messages: Raw[]): T[] {
    return messages.map((m) => {
      try {
        return this.#o.codec.decode(m.value);
      } catch (error) {
        // A layout this version does not know (a newer process wrote it):
        // never commit past it; the batch fails until a process that knows
        // the layout owns this partition.
        const where = `${m.topic}/${m.partition}@${m.offset}`;
        if (!this.#undecodable.has(where)) {
          this.#undecodable.add(where);
          this.#o.logger.error(
            { err: error, message: where },
            "cannot decode a queue message; not committing past it",
          );
        }
        throw error;
      }
    });
  }

  /**
   * Commits what the tracker allows. One commit at a time, so that an older
   * (lower) commit never lands after a newer one; each reads the tracker when
   * its turn comes, so completions that pile up share one commit. A failure
   * only means redelivery (the next commit carries the offsets again).
   */
  #commit(consumer: KafkaConsumer<Buffer, Buffer, Buffer, Buffer>, tracker: CommitTracker): Promise<void> {
    const turn = this.#committing.then(async () => {
      const offsets = tracker.pending();
      if (offsets.length === 0) return;
      try {
        await consumer.commit({ offsets });
        tracker.committed(offsets);
      } catch (error) {
        this.#o.logger.warn({ err: error }, "offset commit failed; these messages may be delivered again");
      }
    });
    this.#committing = turn;
    return turn;
  }

  /** True while this member is in the group with its message stream open. */
  get joined(): boolean {
    return this.#joined;
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#batcher?.wake();
    await this.#done;
  }
}
