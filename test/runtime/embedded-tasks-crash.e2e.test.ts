import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { startServer } from "../helpers/server-process.ts";
import { assertRanTwiceSucceededOnce, crashTasks, taskClient } from "../helpers/tasks.ts";
import { eventually } from "../helpers/wait.ts";

/**
 * A worker killed mid-task (SIGKILL of `stampede start`, restarted on the
 * same DATA_DIR): the task runs again and succeeds once; a task that kills
 * its worker every time ends in the dead-letter list instead of looping. The
 * handlers (test/fixtures/tasks/crash-tasks.ts) come in through TASK_MODULES
 * and write each invocation to a file, so the count survives the kills.
 */
const TOKEN = "crash-test-admin-token-0123456789";

function setup(t: Parameters<typeof crashTasks>[0]) {
  const { dir, env, invocations } = crashTasks(t);
  return {
    env: { ...env, DATA_DIR: join(dir, "data"), ADMIN_TOKEN: TOKEN, TASK_BACKOFF_MS: "50" },
    invocations,
  };
}

test("a worker killed mid-task: on restart the task runs again, 2 invocations and 1 success", async (t) => {
  const { env, invocations } = setup(t);
  const first = await startServer("start", env);
  t.after(() => first.stop("SIGKILL"));
  const taskId = await taskClient(first.url, TOKEN).submit("test-hang-once");
  await eventually(() => invocations().length === 1, 20_000, "the first attempt to start");
  assert.equal((await taskClient(first.url, TOKEN).read(taskId)).status, "running");
  await first.stop("SIGKILL");

  const second = await startServer("start", env);
  t.after(() => second.stop());
  const tasks = taskClient(second.url, TOKEN);
  const done = await tasks.settled(taskId, "succeeded");
  assert.equal(done.attempts, 2);
  assert.deepEqual(done.result, { attempt: 2 });
  // Give a duplicate (the journal's redelivery and the store's sweep both
  // publish the task) the time to run, if anything let it.
  await sleep(500);
  assertRanTwiceSucceededOnce(invocations, taskId);
});

test("a task that kills its worker every time is dead-lettered after its attempts, not run forever", async (t) => {
  const { env, invocations } = setup(t);
  const first = await startServer("start", env);
  t.after(() => first.stop("SIGKILL"));
  const taskId = await taskClient(first.url, TOKEN).submit("test-kill-worker");
  await eventually(
    () => first.child.exitCode !== null || first.child.signalCode,
    20_000,
    "the worker to die",
  );

  // Restart until a process stays up: each restart runs the task again at
  // once, and the handler kills that process too, until the attempts run out.
  let url: string | undefined;
  for (let restarts = 0; restarts < 5 && !url; restarts++) {
    try {
      const server = await startServer("start", env);
      t.after(() => server.stop("SIGKILL"));
      await sleep(1000);
      if (server.child.exitCode === null && server.child.signalCode === null) url = server.url;
    } catch {
      // died before it listened: the task's handler ran during start-up
    }
  }
  assert.ok(url, "a restarted process stayed up");
  const tasks = taskClient(url, TOKEN);
  const task = await tasks.settled(taskId, "failed");
  assert.equal(task.attempts, 2);
  assert.match(task.error ?? "", /did not finish/);
  assert.equal(invocations().filter((i) => i.taskId === taskId).length, 2, "the handler ran twice, no more");
  assert.deepEqual(await tasks.deadLetters(), [taskId]);
});
