import assert from "node:assert/strict";
import { type TestContext, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { BatchHandler, ConsumeOptions, Consumer, Queue } from "../../src/ports/queue.ts";
import { eventually } from "../helpers/wait.ts";

/**
 * What every Queue (src/ports/queue.ts) must do, run against each adapter: the
 * embedded journal, Redis Streams, Kafka. Each test opens a fresh, empty queue
 * (its own directory, stream or topic) with one partition, stream or journal.
 */
export interface QueueItem {
  n: number;
}

export type OpenQueue = (t: TestContext) => Promise<Queue<QueueItem>>;

export interface QueueTraits {
  /**
   * How acknowledgements cover what is in hand. "each": every batch is
   * acknowledged on its own (the journal, Redis Streams). "prefix": an
   * acknowledgement covers everything before it in its partition (Kafka's
   * committed offset), so while one batch runs, nothing after it counts as
   * acknowledged either.
   */
  acknowledges: "each" | "prefix";
  skip?: string | false;
}

const items = (from: number, count: number): QueueItem[] =>
  Array.from({ length: count }, (_, i) => ({ n: from + i }));
const sorted = (values: QueueItem[]) => values.map((v) => v.n).sort((a, b) => a - b);
const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);
const totalLag = async (queue: Queue<QueueItem>) =>
  (await queue.lag()).reduce((sum, source) => sum + source.lag, 0);

/**
 * Consumers and gates of one test. When the test's function returns (or
 * throws) every gate opens and every consumer stops, before the factory's
 * cleanup closes the queue and its connections.
 */
class Harness {
  readonly #consumers: Consumer[] = [];
  readonly #gates: (() => void)[] = [];

  /** queue.consume(), whose stop() may be called again (by end()) without stopping twice. */
  consume(queue: Queue<QueueItem>, handler: BatchHandler<QueueItem>, options: ConsumeOptions): Consumer {
    const inner = queue.consume(handler, options);
    let stopping: Promise<void> | undefined;
    const consumer = { stop: () => (stopping ??= inner.stop()) };
    this.#consumers.push(consumer);
    return consumer;
  }

  /** A promise a handler can wait on, and the function that resolves it. */
  gate(): { open: () => void; opened: Promise<void> } {
    let open!: () => void;
    const opened = new Promise<void>((resolve) => {
      open = resolve;
    });
    this.#gates.push(open);
    return { open, opened };
  }

  async end(): Promise<void> {
    for (const open of this.#gates) open();
    await Promise.all(this.#consumers.map((c) => c.stop()));
  }
}

/** Joining a consumer group can take seconds (Kafka); every wait for a delivery allows for it. */
const DELIVERY_MS = 30_000;

export function queueContract(name: string, open: OpenQueue, traits: QueueTraits): void {
  const it = (title: string, fn: (t: TestContext, use: Harness) => Promise<void>) =>
    test(`${name}: ${title}`, { skip: traits.skip ?? false }, async (t) => {
      const use = new Harness();
      try {
        await fn(t, use);
      } finally {
        await use.end();
      }
    });

  it("publish, then consume: each value handed once, in batches of at most batchSize; lag drains to 0", async (t, use) => {
    const queue = await open(t);
    await queue.publish(items(0, 25));
    const seen: QueueItem[] = [];
    const sizes: number[] = [];
    use.consume(
      queue,
      async (batch) => {
        sizes.push(batch.length);
        seen.push(...batch);
      },
      { batchSize: 10, flushIntervalMs: 1 },
    );
    await eventually(() => seen.length >= 25, DELIVERY_MS, "25 values handed");
    await eventually(async () => (await totalLag(queue)) === 0, DELIVERY_MS, "lag 0");
    assert.deepEqual(sorted(seen), range(0, 25), "each value once, none twice without a failure");
    assert.ok(Math.max(...sizes) <= 10, `batches of ${sizes.join(", ")}`);
    assert.ok(sizes.length < 25, `values waiting together travel together: ${sizes.join(", ")}`);
  });

  it("flushIntervalMs: a batch short of batchSize waits that long for more, then goes without filling", async (t, use) => {
    const queue = await open(t);
    const batches: number[][] = [];
    use.consume(
      queue,
      async (batch) => {
        batches.push(batch.map((v) => v.n));
      },
      { batchSize: 100, flushIntervalMs: 800 },
    );
    // A first value handed shows the consumer is taking messages (Kafka: it joined its group).
    await queue.publish(items(0, 1));
    await eventually(() => batches.length === 1, DELIVERY_MS, "the first value handed");
    await queue.publish(items(1, 1));
    await sleep(150);
    await queue.publish(items(2, 2));
    await eventually(() => batches.flat().length === 4, 10_000, "the later values handed");
    assert.deepEqual(batches, [[0], [1, 2, 3]], "the values published within the interval joined the batch");
  });

  it("a handler that throws gets its batch again, acknowledged only once a call succeeds", async (t, use) => {
    const queue = await open(t);
    await queue.publish(items(0, 5));
    let calls = 0;
    let failed: number[] = [];
    let lagWhileFailing = -1;
    const handled: QueueItem[] = [];
    use.consume(
      queue,
      async (batch) => {
        calls++;
        if (calls === 1) {
          failed = batch.map((v) => v.n);
          lagWhileFailing = await totalLag(queue);
          throw new Error("the ledger is unavailable");
        }
        handled.push(...batch);
      },
      { batchSize: 10, flushIntervalMs: 20 },
    );
    await eventually(
      () => failed.length > 0 && failed.every((n) => handled.some((v) => v.n === n)),
      DELIVERY_MS,
      "the failed batch handed again",
    );
    assert.equal(lagWhileFailing, 5, "nothing acknowledged while the handler fails");
    await eventually(async () => (await totalLag(queue)) === 0, DELIVERY_MS, "lag 0");
    assert.deepEqual([...new Set(sorted(handled))], range(0, 5), "every value handled, at least once");
  });

  it("stop() waits for the batch in hand, which is acknowledged; then nothing more is handed", async (t, use) => {
    const queue = await open(t);
    await queue.publish(items(0, 1));
    const { open: release, opened } = use.gate();
    let inHand = false;
    const handled: QueueItem[] = [];
    const consumer = use.consume(
      queue,
      async (batch) => {
        inHand = true;
        await opened;
        handled.push(...batch);
      },
      { batchSize: 10, flushIntervalMs: 1 },
    );
    await eventually(() => inHand, DELIVERY_MS, "the value handed");
    let stopped = false;
    const stopping = consumer.stop().then(() => {
      stopped = true;
    });
    await sleep(300);
    assert.equal(stopped, false, "stop() returned with a batch in hand");
    release();
    await stopping;
    assert.deepEqual(sorted(handled), [0]);
    assert.equal(await totalLag(queue), 0, "the batch in hand was acknowledged");
    await queue.publish(items(1, 1));
    await sleep(500);
    assert.deepEqual(sorted(handled), [0], "a stopped consumer takes nothing new");
  });

  it("lag() counts every value not acknowledged: published, then in hand, then none once handled", async (t, use) => {
    const queue = await open(t);
    await queue.publish(items(0, 7));
    assert.equal(await totalLag(queue), 7, "published, no consumer yet");
    const { open: release, opened } = use.gate();
    let inHand = 0;
    use.consume(
      queue,
      async (batch) => {
        inHand += batch.length;
        await opened;
      },
      { batchSize: 10, flushIntervalMs: 20 },
    );
    await eventually(() => inHand > 0, DELIVERY_MS, "a batch in hand");
    assert.equal(await totalLag(queue), 7, "a batch in hand is not acknowledged");
    release();
    await eventually(async () => (await totalLag(queue)) === 0, DELIVERY_MS, "lag 0");
  });

  it("concurrency > 1: batches run side by side, each acknowledged when it ends, never past one still running", async (t, use) => {
    const queue = await open(t);
    await queue.publish(items(0, 10));
    const { open: release, opened } = use.gate();
    const handled: number[] = [];
    use.consume(
      queue,
      async ([value]) => {
        if (value!.n === 0) await opened; // the oldest value is slow
        handled.push(value!.n);
      },
      { batchSize: 1, flushIntervalMs: 0, concurrency: 3 },
    );
    await eventually(() => handled.length === 9, DELIVERY_MS, "the nine after the slow one handled");
    assert.ok(!handled.includes(0));
    await sleep(300); // time for acknowledgements to land
    assert.equal(
      await totalLag(queue),
      traits.acknowledges === "each" ? 1 : 10,
      traits.acknowledges === "each"
        ? "only the running batch is unacknowledged"
        : "acknowledging the nine would acknowledge the running one too",
    );
    release();
    await eventually(async () => (await totalLag(queue)) === 0, DELIVERY_MS, "lag 0");
    assert.deepEqual(
      handled.sort((a, b) => a - b),
      range(0, 10),
    );
  });
}
