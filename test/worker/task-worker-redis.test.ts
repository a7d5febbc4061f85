import assert from "node:assert/strict";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { pino } from "pino";
import { EmbeddedQueue } from "../../src/queue/embedded/embedded-queue.ts";
import { createTask } from "../../src/tasks/define.ts";
import { TaskRegistry } from "../../src/tasks/registry.ts";
import { newTaskId } from "../../src/tasks/service.ts";
import { RedisTaskStore } from "../../src/tasks/store/redis/redis-task-store.ts";
import type { TaskMessage } from "../../src/tasks/types.ts";
import { TaskWorker } from "../../src/worker/task-worker.ts";
import { eventually } from "../helpers/embedded-app.ts";
import { tempDir } from "../helpers/tmp.ts";
import { connectRedis, testPrefix } from "../tasks/store/redis-helper.ts";

/**
 * The TaskWorker on the Redis task store, as in distributed mode: two worker
 * instances (different owners) share the store and one queue (a journal-backed
 * queue stands in for the tasks stream; the worker only sees Queue<T>).
 */
const { redis, skip } = await connectRedis();
test.after(() => redis?.disconnect());

const retention = { ttlMs: 60_000, deadLetterTtlMs: 60_000 };

async function setup(t: TestContext, handler: Parameters<typeof createTask>[2], leaseMs = 5000) {
  const store = new RedisTaskStore({ redis: redis!, prefix: testPrefix(redis!, t), retention });
  const { queue } = await EmbeddedQueue.open<TaskMessage>(join(tempDir(t), "tasks"), "tasks", {
    sync: async () => undefined,
  });
  const registry = new TaskRegistry([createTask("work", { type: "object" }, handler)]);
  const workers = ["worker-a", "worker-b"].map(
    (owner) =>
      new TaskWorker({
        queue,
        store,
        registry,
        logger: pino({ level: "silent" }),
        concurrency: 2,
        leaseMs,
        timeoutMs: 10_000,
        backoff: { baseMs: 20, maxMs: 100 },
        owner,
        sweepIntervalMs: 20,
      }),
  );
  for (const worker of workers) worker.start();
  t.after(async () => {
    for (const worker of workers) await worker.stop();
    await queue.close();
    await store.close();
  });
  const submit = async (payload: unknown = {}) => {
    const message = { taskId: newTaskId(), type: "work", payload, createdAt: Date.now(), maxAttempts: 3 };
    await queue.publish([message]);
    await store.create(message);
    return message;
  };
  return { store, queue, submit };
}

test("two workers on the Redis store: 1,000 tasks, each run once and succeeded once", { skip }, async (t) => {
  const runs = new Map<string, number>();
  const { store, submit } = await setup(t, async ({ taskId }) => {
    runs.set(taskId, (runs.get(taskId) ?? 0) + 1);
    return taskId;
  });
  const ids: string[] = [];
  for (let i = 0; i < 1000; i++) ids.push((await submit()).taskId);
  await eventually(() => runs.size === 1000, 60_000);
  for (const id of ids) {
    const task = await store.get(id);
    assert.equal(task?.status, "succeeded");
    assert.equal(task?.attempts, 1);
    assert.equal(task?.result, id);
  }
  assert.ok([...runs.values()].every((n) => n === 1));
});

test("a worker that died mid-task: its lease runs out, another worker runs the task again", {
  skip,
}, async (t) => {
  const runs: number[] = [];
  const { store } = await setup(
    t,
    ({ attempt }) => {
      runs.push(attempt);
      return { attempt };
    },
    300,
  );
  // A third worker took the task and died: it holds a lease it will never renew.
  const message = { taskId: newTaskId(), type: "work", payload: {}, createdAt: Date.now(), maxAttempts: 3 };
  const taken = await store.start(message, "worker-dead", 300);
  assert.equal(taken.kind, "run");
  await eventually(async () => (await store.get(message.taskId))?.status === "succeeded", 10_000);
  const task = await store.get(message.taskId);
  assert.equal(task?.attempts, 2);
  assert.deepEqual(task?.result, { attempt: 2 });
  assert.deepEqual(runs, [2], "only the live workers' attempt ran the handler here");
});

test("retries on the Redis store come back through its due index", { skip }, async (t) => {
  const { store, submit } = await setup(t, ({ attempt }) => {
    if (attempt < 3) throw new Error(`attempt ${attempt} fails`);
    return "third time";
  });
  const { taskId } = await submit();
  await eventually(async () => (await store.get(taskId))?.status === "succeeded", 10_000);
  const task = await store.get(taskId);
  assert.equal(task?.attempts, 3);
  assert.equal(task?.result, "third time");
});
