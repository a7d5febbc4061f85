import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ADMIN_TOKEN, startCluster } from "../helpers/distributed.ts";
import { skipWithoutServices } from "../helpers/services.ts";
import {
  crashTasks,
  killEveryWorker,
  killWorkerMidTask,
  queueSources,
  taskClient,
} from "../helpers/tasks.ts";

/**
 * Tasks in Redis Streams mode (QUEUE=redis: the tasks stream and the Redis
 * task store) across real `stampede api` / `stampede worker` processes. The
 * same two cases run against the embedded journal
 * (embedded-tasks-crash.test.ts) and Kafka (kafka/kafka-tasks-crash.test.ts).
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
    const started = await cluster(t, 2);
    await killWorkerMidTask(started);
    // The tasks travelled on their own Redis stream.
    const sources = await queueSources(started.apis[0]!.url, ADMIN_TOKEN);
    assert.ok(
      sources.some((s) => s.includes(":tasks:stream")),
      sources.join(", "),
    );
  });

  test("a task that kills every worker that runs it is dead-lettered after its attempts", async (t) => {
    await killEveryWorker(await cluster(t, 2));
  });
});
