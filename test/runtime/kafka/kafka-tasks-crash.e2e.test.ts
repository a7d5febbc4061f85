import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ADMIN_TOKEN, startCluster } from "../../helpers/distributed.ts";
import { kafkaEnv, skipWithoutKafka } from "../../helpers/kafka.ts";
import {
  crashTasks,
  killEveryWorker,
  killWorkerMidTask,
  queueSources,
  taskClient,
} from "../../helpers/tasks.ts";

/**
 * Tasks in Kafka mode (QUEUE=kafka: the tasks topic and its own consumer
 * group, the Redis task store) across real `stampede api` / `stampede
 * worker` processes: a worker killed with SIGKILL in the middle of a task,
 * and a task that kills every worker that runs it. The handlers
 * (test/fixtures/tasks/crash-tasks.ts) record each invocation in a file.
 */
const skip = await skipWithoutKafka();

async function cluster(t: Parameters<typeof crashTasks>[0], workers: number) {
  const { env, invocations } = crashTasks(t);
  const started = await startCluster(t, {
    apis: 1,
    workers,
    env: await kafkaEnv(t, {
      ...env,
      KAFKA_TASKS_PARTITIONS: "4",
      // A dead worker's task runs again after about a second (plus the group's session timeout).
      TASK_LEASE_MS: "1000",
      TASK_BACKOFF_MS: "50",
    }),
  });
  return {
    ...started,
    tasksTopic: started.env.KAFKA_TASKS_TOPIC!,
    invocations,
    tasks: taskClient(started.apis[0]!.url, ADMIN_TOKEN),
  };
}

describe("tasks in Kafka mode", { skip, timeout: 180_000 }, () => {
  test("a worker killed (kill -9) mid-task: another runs it again, 2 invocations and 1 success", async (t) => {
    const started = await cluster(t, 2);
    await killWorkerMidTask(started);
    // The tasks travelled on their Kafka topic, and no Redis stream of tasks exists.
    const sources = await queueSources(started.apis[0]!.url, ADMIN_TOKEN);
    assert.equal(sources.filter((s) => s.startsWith(`${started.tasksTopic}/`)).length, 4, sources.join(", "));
    assert.ok(!sources.some((s) => s.includes(":tasks:stream")), sources.join(", "));
  });

  test("a task that kills every worker that runs it is dead-lettered after its attempts", async (t) => {
    await killEveryWorker(await cluster(t, 2));
  });
});
