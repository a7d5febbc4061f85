import assert from "node:assert/strict";
import { type TestContext, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { EmbeddedQueue } from "../../../src/adapters/journal/embedded-queue.ts";
import { queueContract } from "../../contracts/queue.ts";
import { tempDir } from "../../helpers/tmp.ts";
import { eventually } from "../../helpers/wait.ts";

/** The one place these tests construct an EmbeddedQueue: a fresh journal (fsync off), closed when the test ends. */
async function openQueue<T>(t: TestContext): Promise<EmbeddedQueue<T>> {
  const { queue } = await EmbeddedQueue.open<T>(tempDir(t), "test", { sync: async () => undefined });
  t.after(() => queue.close());
  return queue;
}

queueContract("journal", openQueue, { acknowledges: "each" });

test("several consumers of one queue share its messages, each taken once, and all are woken", async (t) => {
  const queue = await openQueue<number>(t);
  const seen = new Map<number, number>();
  let active = 0;
  let mostActive = 0;
  const consumers = Array.from({ length: 4 }, () =>
    queue.consume(
      async (batch) => {
        active++;
        mostActive = Math.max(mostActive, active);
        for (const n of batch) seen.set(n, (seen.get(n) ?? 0) + 1);
        await sleep(5);
        active--;
      },
      { batchSize: 1, flushIntervalMs: 0 },
    ),
  );
  await queue.publish(Array.from({ length: 200 }, (_, i) => i));
  await eventually(() => seen.size === 200);
  assert.ok([...seen.values()].every((count) => count === 1));
  assert.equal(mostActive, 4, "the four consumers worked at the same time");
  await eventually(async () => (await queue.lag())[0]!.lag === 0);
  await Promise.all(consumers.map((c) => c.stop()));
});
