import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { startServer } from "../helpers/server-process.ts";
import { tempDir } from "../helpers/tmp.ts";

/**
 * A worker killed mid-task (SIGKILL of `stampede start`, restarted on the
 * same DATA_DIR): the task runs again and succeeds once; a task that kills
 * its worker every time ends in the dead-letter list instead of looping. The
 * handlers (test/fixtures/tasks/crash-tasks.ts) come in through TASK_MODULES
 * and write each invocation to a file, so the count survives the kills.
 */
const MODULE = fileURLToPath(new URL("../fixtures/tasks/crash-tasks.ts", import.meta.url));
const TOKEN = "crash-test-admin-token-0123456789";
const auth = { authorization: `Bearer ${TOKEN}` };

interface Invocation {
  taskId: string;
  attempt: number;
  event: "start" | "done";
  pid: number;
}

function setup(t: Parameters<typeof tempDir>[0]) {
  const dir = tempDir(t);
  const recordFile = join(dir, "invocations.jsonl");
  const env = {
    DATA_DIR: join(dir, "data"),
    ADMIN_TOKEN: TOKEN,
    TASK_MODULES: MODULE,
    TASK_RECORD_FILE: recordFile,
    TASK_BACKOFF_MS: "50",
  };
  const invocations = (): Invocation[] =>
    existsSync(recordFile)
      ? readFileSync(recordFile, "utf8")
          .split("\n")
          .filter((l) => l !== "")
          .map((l) => JSON.parse(l) as Invocation)
      : [];
  return { env, invocations };
}

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  ms = 20_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function submit(url: string, type: string): Promise<string> {
  const res = await fetch(`${url}/v1/tasks`, {
    method: "POST",
    headers: { ...auth, "content-type": "application/json" },
    body: JSON.stringify({ type, payload: {} }),
  });
  assert.equal(res.status, 202, await res.clone().text());
  return ((await res.json()) as { taskId: string }).taskId;
}

async function readTask(url: string, taskId: string) {
  const res = await fetch(`${url}/v1/tasks/${taskId}`, { headers: auth });
  assert.equal(res.status, 200);
  return (await res.json()) as { status: string; attempts: number; result?: unknown; error?: string };
}

test("a worker killed mid-task: on restart the task runs again, 2 invocations and 1 success", async (t) => {
  const { env, invocations } = setup(t);
  const first = await startServer("start", env);
  t.after(() => first.stop("SIGKILL"));
  const taskId = await submit(first.url, "test-hang-once");
  await until("the first attempt to start", () => (invocations().length === 1 ? true : undefined));
  assert.equal((await readTask(first.url, taskId)).status, "running");
  await first.stop("SIGKILL");

  const second = await startServer("start", env);
  t.after(() => second.stop());
  const done = await until("the task to succeed", async () => {
    const task = await readTask(second.url, taskId);
    return task.status === "succeeded" ? task : undefined;
  });
  assert.equal(done.attempts, 2);
  assert.deepEqual(done.result, { attempt: 2 });
  // Give a duplicate (the journal's redelivery and the store's sweep both
  // publish the task) the time to run, if anything let it.
  await new Promise((r) => setTimeout(r, 500));
  const calls = invocations().filter((i) => i.taskId === taskId);
  assert.deepEqual(
    calls.map((c) => `${c.event}:${c.attempt}`),
    ["start:1", "start:2", "done:2"],
  );
  assert.notEqual(calls[0]!.pid, calls[1]!.pid, "the second attempt ran in the restarted process");
  assert.equal(calls.filter((c) => c.event === "done").length, 1);
});

test("a task that kills its worker every time is dead-lettered after its attempts, not run forever", async (t) => {
  const { env, invocations } = setup(t);
  const first = await startServer("start", env);
  t.after(() => first.stop("SIGKILL"));
  const taskId = await submit(first.url, "test-kill-worker");
  await until("the worker to die", () =>
    first.child.exitCode !== null || first.child.signalCode ? true : undefined,
  );

  // Restart until a process stays up: each restart runs the task again at
  // once, and the handler kills that process too, until the attempts run out.
  let url: string | undefined;
  for (let restarts = 0; restarts < 5 && !url; restarts++) {
    try {
      const server = await startServer("start", env);
      t.after(() => server.stop("SIGKILL"));
      await new Promise((r) => setTimeout(r, 1000));
      if (server.child.exitCode === null && server.child.signalCode === null) url = server.url;
    } catch {
      // died before it listened: the task's handler ran during start-up
    }
  }
  assert.ok(url, "a restarted process stayed up");
  const task = await until("the task to be dead-lettered", async () => {
    const current = await readTask(url!, taskId);
    return current.status === "failed" ? current : undefined;
  });
  assert.equal(task.attempts, 2);
  assert.match(task.error ?? "", /did not finish/);
  assert.equal(invocations().filter((i) => i.taskId === taskId).length, 2, "the handler ran twice, no more");
  const res = await fetch(`${url}/v1/admin/tasks/dead-letters`, { headers: auth });
  const { tasks } = (await res.json()) as { tasks: { taskId: string }[] };
  assert.deepEqual(
    tasks.map((d) => d.taskId),
    [taskId],
  );
});
