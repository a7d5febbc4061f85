import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { describe, type TestContext, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { Redis } from "ioredis";
import { pino } from "pino";
import { EmbeddedQueue } from "../../src/adapters/journal/embedded-queue.ts";
import { KafkaQueue } from "../../src/adapters/kafka/queue/kafka-queue.ts";
import { RedisStreamQueue } from "../../src/adapters/redis/streams/redis-stream-queue.ts";
import { RedisTaskStore } from "../../src/adapters/redis/tasks/redis-task-store.ts";
import type { Queue } from "../../src/ports/queue.ts";
import type { TaskMessage } from "../../src/ports/task-store.ts";
import { createTask } from "../../src/services/tasks/define.ts";
import { TaskRegistry } from "../../src/services/tasks/registry.ts";
import { newTaskId } from "../../src/services/tasks/task-service.ts";
import { type TaskOutcomeEvent, TaskWorker } from "../../src/workers/task-worker.ts";
import { kafkaBrokers, skipWithoutKafka, testGroup, testTopic } from "../helpers/kafka.ts";
import { fileRedisClient, scanKeys, skipWithoutRedis } from "../helpers/services.ts";
import { tempDir } from "../helpers/tmp.ts";
import { eventually } from "../helpers/wait.ts";

/**
 * The TaskWorker on the Redis task store, as in distributed mode: several
 * worker instances (different owners, each as its own process would be)
 * share the store, on each queue the tasks can travel on: the embedded
 * journal (one queue object shared: it lives in one process), a Redis stream
 * (a consumer name per worker) and a Kafka topic (a group member per worker).
 * The worker only sees Queue<TaskMessage>.
 */
const skip = await skipWithoutRedis();
const redis = fileRedisClient();

const retention = { ttlMs: 60_000, deadLetterTtlMs: 60_000 };
const logger = pino({ level: "silent" });
const json = {
  encode: (m: TaskMessage) => JSON.stringify(m),
  decode: (d: string) => JSON.parse(d) as TaskMessage,
};

interface QueueKind {
  name: string;
  skip: string | false;
  /** One queue per worker (the same object where the queue lives in one process), and how to close them. */
  open(
    t: TestContext,
    prefix: string,
    workers: number,
  ): Promise<{ queues: Queue<TaskMessage>[]; close(): Promise<void> }>;
  /** Resolves once every worker consumes (Kafka: the group has settled). */
  ready?(queues: Queue<TaskMessage>[]): Promise<void>;
}

const KINDS: QueueKind[] = [
  {
    name: "embedded journal",
    skip,
    async open(t, _prefix, workers) {
      const { queue } = await EmbeddedQueue.open<TaskMessage>(join(tempDir(t), "tasks"), "tasks", {
        sync: async () => undefined,
      });
      return { queues: Array.from({ length: workers }, () => queue), close: () => queue.close() };
    },
  },
  {
    name: "Redis stream",
    skip,
    async open(_t, prefix, workers) {
      const connections: Redis[] = [];
      const queues = Array.from({ length: workers }, (_, i) => {
        const blocking = redis.duplicate();
        connections.push(blocking);
        return new RedisStreamQueue<TaskMessage>({
          redis: redis,
          blocking,
          streams: [`${prefix}:tasks:stream`],
          group: "task-workers",
          consumer: `worker-${i}`,
          codec: json,
          logger,
          maxLen: 1_000_000,
          claimIdleMs: 2000,
        });
      });
      return {
        queues,
        close: async () => {
          for (const connection of connections) connection.disconnect();
        },
      };
    },
  },
  {
    name: "Kafka topic",
    skip: skip || (await skipWithoutKafka()),
    async open(t, _prefix, workers) {
      const topic = testTopic(t, "tasks");
      const group = testGroup(t, "task-workers");
      const brokers = await kafkaBrokers();
      const queues: KafkaQueue<TaskMessage>[] = [];
      for (let i = 0; i < workers; i++) {
        const queue = await KafkaQueue.open<TaskMessage>({
          brokers,
          topic,
          partitions: 4,
          group,
          clientId: `stampede-test-worker-${i}`,
          codec: { encode: json.encode, decode: (d) => json.decode(d.toString("utf8")) },
          keyOf: (m) => m.taskId,
          logger,
          sessionTimeoutMs: 6000,
        });
        queues.push(queue);
      }
      return { queues, close: async () => void (await Promise.all(queues.map((q) => q.close()))) };
    },
    async ready(queues) {
      const kafka = queues as KafkaQueue<TaskMessage>[];
      await eventually(() => kafka.every((q) => q.consuming), 30_000);
      // Members that joined one after the other: let the last rebalance finish.
      await sleep(1000);
    },
  },
];

async function setup(
  t: TestContext,
  kind: QueueKind,
  handler: Parameters<typeof createTask>[2],
  options: { leaseMs?: number; workers?: number; concurrency?: number } = {},
) {
  const prefix = `stampede-test-tasks-${randomUUID()}`;
  const store = new RedisTaskStore({ redis: redis, prefix, retention });
  const { queues, close } = await kind.open(t, prefix, options.workers ?? 2);
  const registry = new TaskRegistry([createTask("work", { type: "object" }, handler)]);
  const outcomes: TaskOutcomeEvent[] = [];
  const workers = queues.map(
    (queue, i) =>
      new TaskWorker({
        queue,
        store,
        registry,
        logger,
        concurrency: options.concurrency ?? 2,
        leaseMs: options.leaseMs ?? 5000,
        timeoutMs: 10_000,
        backoff: { baseMs: 20, maxMs: 100 },
        owner: `worker-${i}`,
        sweepIntervalMs: 20,
        onOutcome: (event) => outcomes.push(event),
      }),
  );
  for (const worker of workers) worker.start();
  t.after(async () => {
    for (const worker of workers) await worker.stop();
    await close();
    await store.close();
    const keys = await scanKeys(redis, `${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
  });
  await kind.ready?.(queues);
  const queue = queues[0]!;
  const submit = async (payload: unknown = {}, maxAttempts = 3) => {
    const message = { taskId: newTaskId(), type: "work", payload, createdAt: Date.now(), maxAttempts };
    await queue.publish([message]);
    await store.create(message);
    return message;
  };
  return { store, submit, outcomes };
}

for (const kind of KINDS)
  describe(`the TaskWorker on the Redis store, tasks on a ${kind.name}`, { skip: kind.skip }, () => {
    const TASKS = 5000;
    test(`4 workers: ${TASKS} tasks, each run once, succeeded once, its completion recorded once`, async (t) => {
      const runs = new Map<string, number>();
      const { store, submit, outcomes } = await setup(
        t,
        kind,
        async ({ taskId }) => {
          runs.set(taskId, (runs.get(taskId) ?? 0) + 1);
          return taskId;
        },
        { workers: 4 },
      );
      const started = performance.now();
      const ids: string[] = [];
      for (let i = 0; i < TASKS; i += 250)
        ids.push(...(await Promise.all(Array.from({ length: 250 }, () => submit()))).map((m) => m.taskId));
      await eventually(() => outcomes.length >= TASKS, 120_000);
      t.diagnostic(
        `${TASKS} tasks succeeded ${Math.round(performance.now() - started)} ms after the first submit`,
      );
      // Time for a duplicate (a redelivery, a rebalance) to run, if anything let it.
      await sleep(500);
      assert.equal(outcomes.length, TASKS, "no retry, no failure, no second completion");
      assert.ok(outcomes.every((o) => o.outcome === "succeeded"));
      assert.equal(new Set(outcomes.map((o) => o.task.taskId)).size, TASKS);
      for (const id of ids) {
        assert.equal(runs.get(id), 1, `handler runs of ${id}`);
        const task = await store.get(id);
        assert.equal(task?.status, "succeeded");
        assert.equal(task?.attempts, 1);
        assert.equal(task?.result, id);
      }
    });

    test("a worker that died mid-task: its lease runs out, another worker runs the task again", async (t) => {
      const runs: number[] = [];
      const { store } = await setup(
        t,
        kind,
        ({ attempt }) => {
          runs.push(attempt);
          return { attempt };
        },
        { leaseMs: 300 },
      );
      // A third worker took the task and died: it holds a lease it will never renew.
      const message = {
        taskId: newTaskId(),
        type: "work",
        payload: {},
        createdAt: Date.now(),
        maxAttempts: 3,
      };
      const taken = await store.start(message, "worker-dead", 300);
      assert.equal(taken.kind, "run");
      await eventually(async () => (await store.get(message.taskId))?.status === "succeeded", 10_000);
      const task = await store.get(message.taskId);
      assert.equal(task?.attempts, 2);
      assert.deepEqual(task?.result, { attempt: 2 });
      assert.deepEqual(runs, [2], "only the live workers' attempt ran the handler here");
    });

    test("retries come back through the store's due index", async (t) => {
      const { store, submit } = await setup(t, kind, ({ attempt }) => {
        if (attempt < 3) throw new Error(`attempt ${attempt} fails`);
        return "third time";
      });
      const { taskId } = await submit();
      await eventually(async () => (await store.get(taskId))?.status === "succeeded", 10_000);
      const task = await store.get(taskId);
      assert.equal(task?.attempts, 3);
      assert.equal(task?.result, "third time");
    });

    test("a task that always fails is dead-lettered after its attempts, and can be queued again", async (t) => {
      let calls = 0;
      const { store, submit } = await setup(t, kind, ({ attempt }) => {
        calls++;
        throw new Error(`no luck on attempt ${attempt}`);
      });
      const { taskId } = await submit({}, 3);
      await eventually(async () => (await store.get(taskId))?.status === "failed", 10_000);
      assert.equal((await store.get(taskId))?.attempts, 3);
      assert.deepEqual(
        (await store.deadLetters(10, 0)).map((d) => d.taskId),
        [taskId],
      );
      await store.retryDeadLetter(taskId, 1);
      await eventually(async () => (await store.get(taskId))?.attempts === 4, 10_000);
      await eventually(async () => (await store.get(taskId))?.status === "failed", 10_000);
      assert.equal((await store.get(taskId))?.error, "no luck on attempt 4");
      assert.equal(calls, 4);
    });

    test("a slow task holds up no other, even one queued behind it", async (t) => {
      const { store, submit } = await setup(t, kind, ({ payload, signal }) => {
        const { ms } = payload as { ms: number };
        return new Promise((resolve, reject) => {
          const timer = setTimeout(() => resolve(ms), ms);
          signal.addEventListener("abort", () => {
            clearTimeout(timer);
            reject(signal.reason);
          });
        });
      });
      const slow = await submit({ ms: 6000 });
      await eventually(async () => (await store.get(slow.taskId))?.status === "running", 10_000);
      const started = performance.now();
      // On Kafka (4 partitions) some land behind the slow task on its partition.
      const quick = await Promise.all(Array.from({ length: 40 }, () => submit({ ms: 1 })));
      await eventually(async () => {
        const tasks = await Promise.all(quick.map((m) => store.get(m.taskId)));
        return tasks.every((task) => task?.status === "succeeded");
      }, 10_000);
      const took = performance.now() - started;
      assert.ok(took < 4000, `the quick tasks took ${Math.round(took)} ms`);
      assert.equal((await store.get(slow.taskId))?.status, "running", "the slow one still runs");
    });
  });
