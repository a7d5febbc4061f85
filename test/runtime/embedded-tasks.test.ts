import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { BUILTIN_TASKS } from "../../src/services/tasks/builtin.ts";
import { createTask } from "../../src/services/tasks/define.ts";
import { TaskRegistry } from "../../src/services/tasks/registry.ts";
import { defaultTaskSettings } from "../../src/services/tasks/settings.ts";
import type { TaskOutcomeEvent } from "../../src/workers/task-worker.ts";
import { admin, createCampaign, embeddedApp } from "../helpers/embedded-app.ts";
import { eventually } from "../helpers/wait.ts";

/**
 * The task pipeline inside `stampede start`'s runtime: the real journal
 * (fsync on) for the tasks queue, the SQLite task store, and the API.
 */
const TASKS = 5000;

test(`${TASKS} tasks on 4 workers: each runs once and succeeds once, its completion recorded once`, async (t) => {
  const invocations = new Map<string, number>();
  let active = 0;
  let mostActive = 0;
  const count = createTask("count", { type: "object" }, async ({ taskId }) => {
    invocations.set(taskId, (invocations.get(taskId) ?? 0) + 1);
    active++;
    mostActive = Math.max(mostActive, active);
    await sleep(1);
    active--;
    return { taskId };
  });
  const completions = new Map<string, number>();
  const outcomes: TaskOutcomeEvent[] = [];
  const { app, runtime } = await embeddedApp(t, {
    fsync: "always",
    tasks: {
      registry: new TaskRegistry([count]),
      settings: { ...defaultTaskSettings(), concurrency: 4 },
      onOutcome: (event) => {
        outcomes.push(event);
        if (event.outcome === "succeeded")
          completions.set(event.task.taskId, (completions.get(event.task.taskId) ?? 0) + 1);
      },
    },
  });

  const started = performance.now();
  const taskIds: string[] = [];
  for (let i = 0; i < TASKS; i += 250) {
    const answers = await Promise.all(
      Array.from({ length: Math.min(250, TASKS - i) }, (_, j) =>
        app.inject({
          method: "POST",
          url: "/v1/tasks",
          headers: admin,
          payload: { type: "count", payload: { n: i + j } },
        }),
      ),
    );
    for (const res of answers) {
      assert.equal(res.statusCode, 202, res.body);
      taskIds.push(res.json<{ taskId: string }>().taskId);
    }
  }
  const submitted = performance.now();
  await eventually(() => completions.size === TASKS, 120_000);
  const finished = performance.now();
  console.log(
    `# ${TASKS} tasks: submitted in ${Math.round(submitted - started)} ms, ` +
      `all succeeded ${Math.round(finished - started)} ms after the first POST`,
  );

  assert.equal(new Set(taskIds).size, TASKS, "distinct task ids");
  for (const taskId of taskIds) {
    assert.equal(invocations.get(taskId), 1, `handler runs of ${taskId}`);
    assert.equal(completions.get(taskId), 1, `completions of ${taskId}`);
  }
  assert.equal(invocations.size, TASKS);
  assert.equal(outcomes.length, TASKS, "no retry, no failure, no second completion");
  assert.equal(mostActive, 4, "four attempts ran at once, never more");
  for (const taskId of taskIds) {
    const task = await runtime.tasks.store.get(taskId);
    assert.equal(task?.status, "succeeded");
    assert.equal(task?.attempts, 1);
    assert.deepEqual(task?.result, { taskId });
  }
  const res = await app.inject({ url: `/v1/tasks/${taskIds[42]}`, headers: admin });
  assert.equal(res.statusCode, 200);
  assert.equal(res.json().status, "succeeded");
  assert.deepEqual(await runtime.tasks.queue.lag(), [{ source: "tasks", lag: 0 }]);
});

test("slow tasks do not delay claims: they travel on their own queue", async (t) => {
  const { app, runtime } = await embeddedApp(t, {
    tasks: {
      registry: new TaskRegistry(BUILTIN_TASKS),
      settings: { ...defaultTaskSettings(), concurrency: 2 },
    },
  });
  // More slow tasks than task workers: the tasks queue is backed up.
  for (let i = 0; i < 6; i++) {
    const res = await app.inject({
      method: "POST",
      url: "/v1/tasks",
      headers: admin,
      payload: { type: "sleep", payload: { ms: 5000 } },
    });
    assert.equal(res.statusCode, 202);
  }
  assert.ok((await runtime.tasks.queue.lag())[0]!.lag >= 6);
  const campaign = await createCampaign(app, { name: "fast", stock: 10 });
  const started = performance.now();
  const claim = await app.inject({
    method: "POST",
    url: `/v1/campaigns/${campaign.id}/claims`,
    payload: { userId: "u1" },
  });
  assert.equal(claim.statusCode, 202);
  const { claimId } = claim.json<{ claimId: string }>();
  await eventually(async () => {
    const res = await app.inject({ url: `/v1/claims/${claimId}` });
    return res.json().status === "issued";
  }, 5000);
  assert.ok(performance.now() - started < 2000, "issued while every task worker was busy");
});
