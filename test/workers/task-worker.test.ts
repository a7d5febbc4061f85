import assert from "node:assert/strict";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { pino } from "pino";
import { EmbeddedQueue } from "../../src/adapters/journal/embedded-queue.ts";
import { SqliteTaskStore } from "../../src/adapters/sqlite/tasks/sqlite-task-store.ts";
import type { TaskMessage, TaskRecord, TaskStore } from "../../src/ports/task-store.ts";
import { createTask, PermanentTaskError, type TaskDefinition } from "../../src/services/tasks/define.ts";
import { TaskRegistry } from "../../src/services/tasks/registry.ts";
import { newTaskId } from "../../src/services/tasks/task-service.ts";
import { type TaskOutcomeEvent, TaskWorker, type TaskWorkerOptions } from "../../src/workers/task-worker.ts";
import { tempDir } from "../helpers/tmp.ts";
import { eventually } from "../helpers/wait.ts";

/** A TaskWorker on a real journal-backed queue and SQLite store, with the test's own handlers. */
async function setup(
  t: TestContext,
  tasks: TaskDefinition[],
  options: Partial<TaskWorkerOptions> & { dataDir?: string; wrapStore?: (s: TaskStore) => TaskStore } = {},
) {
  const dataDir = options.dataDir ?? tempDir(t);
  const sqlite = new SqliteTaskStore({ dataDir, retention: { ttlMs: 60_000, deadLetterTtlMs: 60_000 } });
  const store = options.wrapStore ? options.wrapStore(sqlite) : sqlite;
  const { queue } = await EmbeddedQueue.open<TaskMessage>(join(dataDir, "tasks-journal"), "tasks", {
    sync: async () => undefined,
  });
  const outcomes: TaskOutcomeEvent[] = [];
  const worker = new TaskWorker({
    queue,
    store,
    registry: new TaskRegistry(tasks),
    logger: pino({ level: "silent" }),
    concurrency: 2,
    leaseMs: 5000,
    timeoutMs: 10_000,
    backoff: { baseMs: 40, maxMs: 1000 },
    owner: "test",
    sweepIntervalMs: 10,
    onOutcome: (e) => outcomes.push(e),
    ...options,
  });
  worker.start();
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await worker.stop();
    await queue.close();
    await sqlite.close();
  };
  t.after(close);
  const submit = async (type: string, payload: unknown, maxAttempts = 3): Promise<string> => {
    const message = { taskId: newTaskId(), type, payload, createdAt: Date.now(), maxAttempts };
    await queue.publish([message]);
    await store.create(message);
    return message.taskId;
  };
  const settled = async (taskId: string, timeoutMs = 10_000): Promise<TaskRecord> => {
    let task: TaskRecord | undefined;
    await eventually(async () => {
      task = await store.get(taskId);
      return task?.status === "succeeded" || task?.status === "failed";
    }, timeoutMs);
    return task!;
  };
  return { store, queue, worker, outcomes, submit, settled, close, dataDir };
}

const object = { type: "object" };

/** `inner` with some methods replaced (a Proxy: the store's private fields need their own `this`). */
function overriding(inner: TaskStore, overrides: Partial<TaskStore>): TaskStore {
  return new Proxy(inner, {
    get(target, property) {
      if (property in overrides) return overrides[property as keyof TaskStore];
      const value = Reflect.get(target, property) as unknown;
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

test("a failing task is retried with exponential backoff until it succeeds", async (t) => {
  const starts: number[] = [];
  const flaky = createTask<{ failures: number }>("flaky", object, ({ attempt, payload }) => {
    starts.push(performance.now());
    if (attempt <= payload.failures) throw new Error(`attempt ${attempt} fails`);
    return { attempt };
  });
  const { submit, settled, outcomes } = await setup(t, [flaky]);
  const taskId = await submit("flaky", { failures: 2 });
  const task = await settled(taskId);
  assert.equal(task.status, "succeeded");
  assert.equal(task.attempts, 3);
  assert.deepEqual(task.result, { attempt: 3 });
  assert.equal(task.error, undefined);
  assert.deepEqual(
    outcomes.map((o) => o.outcome),
    ["retry", "retry", "succeeded"],
  );
  // Base 40 ms, doubled, minus at most 20% jitter: >= 32 ms, then >= 64 ms.
  assert.ok(starts[1]! - starts[0]! >= 30, `first retry after ${starts[1]! - starts[0]!} ms`);
  assert.ok(starts[2]! - starts[1]! >= 60, `second retry after ${starts[2]! - starts[1]!} ms`);
});

test("a task that always fails is dead-lettered after its attempts; a retry gives it new ones", async (t) => {
  let calls = 0;
  const fail = createTask("fail", object, ({ attempt }) => {
    calls++;
    throw new Error(`no luck on attempt ${attempt}`);
  });
  const { submit, settled, store, outcomes } = await setup(t, [fail]);
  const taskId = await submit("fail", {}, 3);
  const task = await settled(taskId);
  assert.equal(task.status, "failed");
  assert.equal(task.attempts, 3);
  assert.equal(task.error, "no luck on attempt 3");
  assert.equal(calls, 3);
  assert.deepEqual(
    (await store.deadLetters(10, 0)).map((d) => d.taskId),
    [taskId],
  );
  assert.deepEqual(
    outcomes.map((o) => o.outcome),
    ["retry", "retry", "failed"],
  );

  await store.retryDeadLetter(taskId, 2);
  await eventually(async () => (await store.get(taskId))?.attempts === 5);
  const again = await settled(taskId);
  assert.equal(again.status, "failed");
  assert.equal(again.error, "no luck on attempt 5");
  assert.equal(calls, 5);
});

test("a PermanentTaskError, an invalid payload, an unknown type or a non-JSON result dead-letter at once", async (t) => {
  let strictCalls = 0;
  const permanent = createTask("permanent", object, () => {
    throw new PermanentTaskError("bad input, retrying cannot help");
  });
  const strict = createTask("strict", { type: "object", required: ["n"] }, () => {
    strictCalls++;
    return 1;
  });
  const bigint = createTask("bigint", object, () => ({ n: 1n }));
  const { submit, settled } = await setup(t, [permanent, strict, bigint]);
  const cases = [
    [await submit("permanent", {}), /bad input/],
    [await submit("strict", {}), /must have required property 'n'/],
    [await submit("nobody-handles-this", {}), /no handler for task type "nobody-handles-this"/],
    [await submit("bigint", {}), /not JSON/],
  ] as const;
  for (const [taskId, error] of cases) {
    const task = await settled(taskId);
    assert.equal(task.status, "failed");
    assert.equal(task.attempts, 1);
    assert.match(task.error ?? "", error);
  }
  assert.equal(strictCalls, 0, "the handler never saw the invalid payload");
});

test("an attempt that runs past its timeout fails (its signal fires) and is retried", async (t) => {
  const aborted: string[] = [];
  const slow = createTask(
    "slow",
    object,
    ({ attempt, signal }) =>
      new Promise((resolve, reject) => {
        if (attempt === 2) return resolve("fast enough");
        signal.addEventListener("abort", () => {
          aborted.push(String((signal.reason as Error).message));
          reject(signal.reason);
        });
      }),
    { timeoutMs: 100 },
  );
  const { submit, settled, outcomes } = await setup(t, [slow]);
  const task = await settled(await submit("slow", {}));
  assert.equal(task.status, "succeeded");
  assert.equal(task.attempts, 2);
  assert.equal(outcomes[0]?.outcome, "retry");
  assert.match(outcomes[0]?.task.error ?? "", /did not finish within 100 ms/);
  assert.equal(aborted.length, 1);
});

test("a slow task does not hold up the others: each consumer takes its own", async (t) => {
  const sleeper = createTask<{ ms: number }>(
    "sleep",
    object,
    ({ payload }) => new Promise((r) => setTimeout(() => r(payload), payload.ms)),
  );
  const { submit, settled } = await setup(t, [sleeper], { concurrency: 2 });
  const slow = await submit("sleep", { ms: 3000 });
  const started = performance.now();
  const quick = [];
  for (let i = 0; i < 20; i++) quick.push(await submit("sleep", { ms: 1 }));
  for (const taskId of quick) assert.equal((await settled(taskId)).status, "succeeded");
  assert.ok(performance.now() - started < 2500, "the quick tasks finished while the slow one ran");
  assert.equal((await settled(slow)).status, "succeeded");
});

test("stopping interrupts running attempts and hands them back; the next worker runs them", async (t) => {
  let calls = 0;
  const sleeper = createTask<{ ms: number }>("sleep", object, ({ payload, signal }) => {
    calls++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => resolve(payload), payload.ms);
      signal.addEventListener("abort", () => {
        clearTimeout(timer);
        reject(signal.reason);
      });
    });
  });
  const first = await setup(t, [sleeper]);
  const taskId = await first.submit("sleep", { ms: 30_000 });
  await eventually(async () => (await first.store.get(taskId))?.status === "running");
  const stopping = performance.now();
  await first.close();
  assert.ok(performance.now() - stopping < 2000, "stop did not wait for the 30 s handler");

  const between = new SqliteTaskStore({
    dataDir: first.dataDir,
    retention: { ttlMs: 1000, deadLetterTtlMs: 1000 },
  });
  const queued = await between.get(taskId);
  await between.close();
  assert.equal(queued?.status, "queued");
  assert.equal(queued?.attempts, 0, "the interrupted attempt was given back");

  const second = await setup(t, [sleeper], { dataDir: first.dataDir });
  await eventually(async () => (await second.store.get(taskId))?.status === "running");
  assert.equal((await second.store.get(taskId))?.attempts, 1);
  assert.equal(calls, 2);
});

test("an attempt that loses its lease stops (signal) and records nothing", async (t) => {
  let signalled = false;
  const hold = createTask("hold", object, ({ signal }) => {
    return new Promise((_, reject) =>
      signal.addEventListener("abort", () => {
        signalled = true;
        reject(signal.reason);
      }),
    );
  });
  const { submit, store, outcomes } = await setup(t, [hold], {
    leaseMs: 300,
    // Another worker took the task over: every renewal is refused.
    wrapStore: (inner) => overriding(inner, { renew: async () => false }),
  });
  const taskId = await submit("hold", {});
  await eventually(() => signalled, 5000);
  await sleep(100);
  const task = await store.get(taskId);
  assert.equal(task?.status, "running", "the lost attempt recorded no outcome");
  assert.deepEqual(outcomes, []);
});
