import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import type { ServerProcess } from "./server-process.ts";
import { tempDir } from "./tmp.ts";
import { eventually } from "./wait.ts";

/**
 * Helpers of the task crash tests, which run `stampede` as child processes
 * with the handlers of test/fixtures/tasks/crash-tasks.ts (through
 * TASK_MODULES): each invocation is a line in a file, so the count survives
 * the kills.
 */
export const CRASH_TASKS_MODULE = fileURLToPath(new URL("../fixtures/tasks/crash-tasks.ts", import.meta.url));

export interface Invocation {
  taskId: string;
  attempt: number;
  event: "start" | "done";
  /** The process that ran it. */
  pid: number;
}

/** The env a process needs to load the crash handlers, and the invocations they recorded so far. */
export function crashTasks(t: Parameters<typeof tempDir>[0]): {
  dir: string;
  env: Record<string, string>;
  invocations: () => Invocation[];
} {
  const dir = tempDir(t);
  const recordFile = join(dir, "invocations.jsonl");
  const invocations = (): Invocation[] =>
    existsSync(recordFile)
      ? readFileSync(recordFile, "utf8")
          .split("\n")
          .filter((l) => l !== "")
          .map((l) => JSON.parse(l) as Invocation)
      : [];
  return { dir, env: { TASK_MODULES: CRASH_TASKS_MODULE, TASK_RECORD_FILE: recordFile }, invocations };
}

export interface TaskView {
  status: string;
  attempts: number;
  result?: unknown;
  error?: string;
}

/** The task routes of a running process, with its admin token. */
export function taskClient(url: string, token: string) {
  const auth = { authorization: `Bearer ${token}` };
  const read = async (taskId: string): Promise<TaskView> => {
    const res = await fetch(`${url}/v1/tasks/${taskId}`, { headers: auth });
    assert.equal(res.status, 200);
    return (await res.json()) as TaskView;
  };
  return {
    async submit(type: string, payload: unknown = {}): Promise<string> {
      const res = await fetch(`${url}/v1/tasks`, {
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify({ type, payload }),
      });
      assert.equal(res.status, 202, await res.clone().text());
      return ((await res.json()) as { taskId: string }).taskId;
    },
    read,
    /** Polls the task until it has `status` (succeeded, failed). */
    settled: (taskId: string, status: string, ms = 20_000): Promise<TaskView> =>
      eventually(
        async () => {
          const task = await read(taskId);
          return task.status === status ? task : undefined;
        },
        ms,
        `task ${taskId} to be ${status}`,
      ),
    async deadLetters(): Promise<string[]> {
      const res = await fetch(`${url}/v1/admin/tasks/dead-letters`, { headers: auth });
      assert.equal(res.status, 200);
      return ((await res.json()) as { tasks: { taskId: string }[] }).tasks.map((d) => d.taskId);
    },
  };
}

/**
 * The invocations of a task whose first attempt was killed: start:1, start:2,
 * done:2, the second attempt in another process, one success.
 */
export function assertRanTwiceSucceededOnce(invocations: () => Invocation[], taskId: string): void {
  const calls = invocations().filter((i) => i.taskId === taskId);
  assert.deepEqual(
    calls.map((c) => `${c.event}:${c.attempt}`),
    ["start:1", "start:2", "done:2"],
  );
  assert.notEqual(calls[0]!.pid, calls[1]!.pid, "the second attempt ran in another process");
  assert.equal(calls.filter((c) => c.event === "done").length, 1, "one success");
}

/** An api + workers cluster (helpers/distributed.ts) with the crash handlers loaded. */
export interface TaskCluster {
  workers: ServerProcess[];
  startWorker(): Promise<ServerProcess>;
  tasks: ReturnType<typeof taskClient>;
  invocations: () => Invocation[];
}

/**
 * A worker killed (kill -9) mid-task in a distributed mode: another worker
 * runs it again once its lease expires; 2 invocations, 1 success.
 */
export async function killWorkerMidTask({ workers, tasks, invocations }: TaskCluster): Promise<void> {
  const taskId = await tasks.submit("test-hang-once");
  const first = await eventually(
    () => invocations().find((i) => i.taskId === taskId),
    20_000,
    "the first attempt to start",
  );
  assert.equal((await tasks.read(taskId)).status, "running");
  const doomed = workers.find((w) => w.child.pid === first.pid);
  assert.ok(doomed, "the attempt ran in a worker process");
  await doomed.stop("SIGKILL");

  const done = await tasks.settled(taskId, "succeeded", 60_000);
  assert.equal(done.attempts, 2);
  assert.deepEqual(done.result, { attempt: 2 });
  // Time for a duplicate to run, if anything let it (the dead worker's
  // message was never acknowledged, and the store's sweep publishes it too).
  await sleep(1500);
  assertRanTwiceSucceededOnce(invocations, taskId);
}

/**
 * A task that kills every worker that runs it, in a distributed mode: attempt
 * 1 kills one worker, attempt 2 (after the lease) the other; a fresh worker
 * then finds it out of attempts and dead-letters it.
 */
export async function killEveryWorker({
  workers,
  startWorker,
  tasks,
  invocations,
}: TaskCluster): Promise<void> {
  const taskId = await tasks.submit("test-kill-worker");
  await eventually(
    () => workers.every((w) => w.child.exitCode !== null || w.child.signalCode),
    60_000,
    "every worker to die",
  );
  await startWorker();
  const task = await tasks.settled(taskId, "failed", 60_000);
  assert.equal(task.attempts, 2);
  assert.match(task.error ?? "", /did not finish/);
  assert.equal(invocations().filter((i) => i.taskId === taskId).length, 2, "the handler ran twice, no more");
  assert.deepEqual(await tasks.deadLetters(), [taskId]);
}

/** The queue sources (streams, topic partitions) an API process reports lag for. */
export async function queueSources(apiUrl: string, token: string): Promise<string[]> {
  const stats = await fetch(`${apiUrl}/v1/admin/stats`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(stats.status, 200);
  return ((await stats.json()) as { queue: { lag: { source: string }[] } }).queue.lag.map((l) => l.source);
}
