import assert from "node:assert/strict";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { EmbeddedQueue } from "../../../src/adapters/journal/embedded-queue.ts";
import { SqliteTaskStore } from "../../../src/adapters/sqlite/tasks/sqlite-task-store.ts";
import type { TaskMessage, TaskRecord } from "../../../src/ports/task-store.ts";
import { createTask } from "../../../src/services/tasks/define.ts";
import { TaskRegistry } from "../../../src/services/tasks/registry.ts";
import { TaskService } from "../../../src/services/tasks/task-service.ts";
import { rejectsWith } from "../../helpers/embedded-ports.ts";
import { tempDir } from "../../helpers/tmp.ts";
import { eventually } from "../../helpers/wait.ts";

const UNKNOWN = "AAAAAAAAAAAAAAAAAAAAAA";

/** The service over a real journal queue and SQLite store, with no worker: the test plays the worker. */
async function setup(t: TestContext) {
  const dataDir = tempDir(t);
  const store = new SqliteTaskStore({ dataDir, retention: { ttlMs: 60_000, deadLetterTtlMs: 60_000 } });
  const { queue } = await EmbeddedQueue.open<TaskMessage>(join(dataDir, "tasks-journal"), "tasks", {
    sync: async () => undefined,
  });
  t.after(async () => {
    await queue.close();
    await store.close();
  });
  const echo = createTask<{ n: number }>(
    "echo",
    { type: "object", required: ["n"], properties: { n: { type: "integer" } } },
    ({ payload }) => payload,
    { maxAttempts: 2 },
  );
  const service = new TaskService({ registry: new TaskRegistry([echo]), store, queue, maxAttempts: 5 });
  return { service, store, queue };
}

test("submit: queued once per Idempotency-Key; unknown type and invalid payload are refused", async (t) => {
  const { service, store, queue } = await setup(t);
  const first = await service.submit("echo", { n: 1 }, "key-1");
  assert.deepEqual([first.replayed, (await store.get(first.taskId))?.status], [false, "queued"]);
  assert.equal((await service.get(first.taskId)).maxAttempts, 2, "the definition's maxAttempts");
  const again = await service.submit("echo", { n: 2 }, "key-1");
  assert.deepEqual(again, { taskId: first.taskId, replayed: true });
  assert.deepEqual(await queue.lag(), [{ source: "tasks", lag: 1 }], "one message on the queue");

  const unknown = await rejectsWith(service.submit("nobody", {}), "unknown_task_type");
  assert.match(unknown.message, /"nobody"/);
  const invalid = await rejectsWith(service.submit("echo", { n: "one" }), "invalid_request");
  assert.match(invalid.message, /payload\.n must be integer \(task type "echo"\)/);
  await rejectsWith(service.get(UNKNOWN), "task_not_found");
});

test("follow: the record at once, then each change; an unknown task is task_not_found", async (t) => {
  const { service, store } = await setup(t);
  const { taskId } = await service.submit("echo", { n: 1 });
  const watched = await service.follow(taskId);
  assert.equal(watched.current.status, "queued");
  const seen: TaskRecord[] = [];
  watched.listen((task) => seen.push(task));
  const message = (await store.get(taskId))!;
  const started = await store.start(message, "test", 5000);
  assert.equal(started.kind, "run");
  await store.succeed(taskId, 1, { n: 1 });
  await eventually(() => seen.some((task) => task.status === "succeeded"));
  watched.stop();
  await rejectsWith(service.follow(UNKNOWN), "task_not_found");
});

test("retryDeadLetter: a failed task gets a fresh set of attempts; anything else is task_not_found", async (t) => {
  const { service, store } = await setup(t);
  const { taskId } = await service.submit("echo", { n: 1 });
  await rejectsWith(service.retryDeadLetter(taskId), "task_not_found");
  await store.start((await store.get(taskId))!, "test", 5000);
  await store.fail(taskId, 1, "boom", undefined);
  assert.deepEqual(
    (await service.deadLetters(10, 0)).map((task) => task.taskId),
    [taskId],
  );
  const retried = await service.retryDeadLetter(taskId);
  assert.equal(retried.status, "queued");
  assert.equal(retried.maxAttempts, 3, "the attempt made plus the definition's 2");
  await rejectsWith(service.retryDeadLetter(UNKNOWN), "task_not_found");
});
