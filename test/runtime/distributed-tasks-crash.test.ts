import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ADMIN_TOKEN, startCluster } from "../helpers/distributed.ts";
import { skipWithoutServices } from "../helpers/services.ts";
import { crashTasks, taskClient, until } from "../helpers/tasks.ts";

/**
 * Tasks in Redis Streams mode (QUEUE=redis: the tasks stream and the Redis
 * task store) across real `stampede api` / `stampede worker` processes: a
 * worker killed with SIGKILL in the middle of a task, and a task that kills
 * every worker that runs it. The handlers (test/fixtures/tasks/crash-tasks.ts)
 * record each invocation in a file. The same two cases run against the
 * embedded journal (embedded-tasks-crash.test.ts) and Kafka
 * (kafka/kafka-tasks-crash.test.ts).
 */
const skip = await skipWithoutServices();

async function cluster(t: Parameters<typeof crashTasks>[0], workers: number) {
  const { env, invocations } = crashTasks(t);
  const started = await startCluster(t, {
    apis: 1,
    workers,
    // A dead worker's task runs again after about a second.
    env: { ...env, TASK_LEASE_MS: "1000", TASK_BACKOFF_MS: "50" },
  });
  return { ...started, invocations, tasks: taskClient(started.apis[0]!.url, ADMIN_TOKEN) };
}

describe("tasks in Redis Streams mode", { skip, timeout: 180_000 }, () => {
  test("a worker killed (kill -9) mid-task: another runs it again, 2 invocations and 1 success", async (t) => {
    const { workers, tasks, invocations, apis } = await cluster(t, 2);
    const taskId = await tasks.submit("test-hang-once");
    const first = await until("the first attempt to start", () =>
      invocations().find((i) => i.taskId === taskId),
    );
    assert.equal((await tasks.read(taskId)).status, "running");
    const doomed = workers.find((w) => w.child.pid === first.pid);
    assert.ok(doomed, "the attempt ran in a worker process");
    await doomed.stop("SIGKILL");

    const done = await tasks.settled(taskId, "succeeded", 60_000);
    assert.equal(done.attempts, 2);
    assert.deepEqual(done.result, { attempt: 2 });
    // Time for a duplicate to run, if anything let it: the dead worker's
    // stream entry stays pending until another consumer claims it.
    await new Promise((r) => setTimeout(r, 1500));
    const calls = invocations().filter((i) => i.taskId === taskId);
    assert.deepEqual(
      calls.map((c) => `${c.event}:${c.attempt}`),
      ["start:1", "start:2", "done:2"],
    );
    assert.notEqual(calls[1]!.pid, first.pid, "the second attempt ran in the surviving worker");
    assert.equal(calls.filter((c) => c.event === "done").length, 1, "one success");
    // The tasks travelled on their own Redis stream.
    const stats = await fetch(`${apis[0]!.url}/v1/admin/stats`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    const sources = ((await stats.json()) as { queue: { lag: { source: string }[] } }).queue.lag.map(
      (l) => l.source,
    );
    assert.ok(
      sources.some((s) => s.includes(":tasks:stream")),
      sources.join(", "),
    );
  });

  test("a task that kills every worker that runs it is dead-lettered after its attempts", async (t) => {
    const { tasks, invocations, workers, startWorker } = await cluster(t, 2);
    const taskId = await tasks.submit("test-kill-worker");
    // Attempt 1 kills one worker; after the lease, attempt 2 kills the other.
    await until(
      "both workers to die",
      () => (workers.every((w) => w.child.exitCode !== null || w.child.signalCode) ? true : undefined),
      60_000,
    );
    await startWorker();
    const task = await tasks.settled(taskId, "failed", 60_000);
    assert.equal(task.attempts, 2);
    assert.match(task.error ?? "", /did not finish/);
    assert.equal(
      invocations().filter((i) => i.taskId === taskId).length,
      2,
      "the handler ran twice, no more",
    );
    assert.deepEqual(await tasks.deadLetters(), [taskId]);
  });
});
