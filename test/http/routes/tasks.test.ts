import assert from "node:assert/strict";
import { type TestContext, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { BUILTIN_TASKS } from "../../../src/services/tasks/builtin.ts";
import { createTask } from "../../../src/services/tasks/define.ts";
import { TaskRegistry } from "../../../src/services/tasks/registry.ts";
import { defaultTaskSettings } from "../../../src/services/tasks/settings.ts";
import { newTaskId } from "../../../src/services/tasks/task-service.ts";
import { admin, embeddedApp } from "../../helpers/embedded-app.ts";
import { eventually } from "../../helpers/wait.ts";

/** The task routes through inject(), on an embedded runtime with the built-in tasks and a counting one. */
async function setup(t: TestContext) {
  const calls = new Map<string, number>();
  const counted = createTask("counted", { type: "object" }, ({ taskId }) => {
    calls.set(taskId, (calls.get(taskId) ?? 0) + 1);
    return "ok";
  });
  const testApp = await embeddedApp(t, {
    tasks: {
      registry: new TaskRegistry([...BUILTIN_TASKS, counted]),
      settings: {
        ...defaultTaskSettings(),
        maxAttempts: 2,
        backoff: { baseMs: 10, maxMs: 50 },
      },
      sweepIntervalMs: 10,
    },
    app: { sseHeartbeatMs: 50 },
  });
  const { app } = testApp;
  const post = (body: unknown, headers: Record<string, string> = {}) =>
    app.inject({
      method: "POST",
      url: "/v1/tasks",
      headers: { ...admin, ...headers },
      payload: body as object,
    });
  const read = async (taskId: string) => {
    const res = await app.inject({ url: `/v1/tasks/${taskId}`, headers: admin });
    assert.equal(res.statusCode, 200, res.body);
    return res.json();
  };
  const settled = async (taskId: string) => {
    let body: Record<string, unknown> = {};
    await eventually(async () => {
      body = await read(taskId);
      return body.status === "succeeded" || body.status === "failed";
    });
    return body;
  };
  return { ...testApp, post, read, settled, calls };
}

test("POST /v1/tasks answers 202 with a 128-bit task id; the task runs and keeps its result", async (t) => {
  const { post, read, settled, app } = await setup(t);
  const res = await post({ type: "sleep", payload: { ms: 20, note: "kept" } });
  assert.equal(res.statusCode, 202);
  assert.ok(res.headers["x-request-id"]);
  const body = res.json();
  assert.deepEqual(Object.keys(body).sort(), ["status", "taskId"]);
  assert.equal(body.status, "queued");
  assert.match(body.taskId, /^[A-Za-z0-9_-]{22}$/);
  assert.equal(Buffer.from(body.taskId, "base64url").length, 16);

  const early = await read(body.taskId);
  assert.ok(["queued", "running"].includes(early.status));
  const done = await settled(body.taskId);
  assert.equal(done.status, "succeeded");
  assert.equal(done.type, "sleep");
  assert.equal(done.attempts, 1);
  assert.deepEqual(done.result, { ms: 20, note: "kept" });
  for (const field of ["createdAt", "updatedAt", "startedAt", "finishedAt"])
    assert.ok(!Number.isNaN(Date.parse(done[field] as string)), field);

  const other = await app.inject({ url: `/v1/tasks/${newTaskId()}`, headers: admin });
  assert.equal(other.statusCode, 404);
  assert.equal(other.json().error, "task_not_found");
});

test("bad submissions: unknown type, payload against the schema, malformed body, no token", async (t) => {
  const { post, app } = await setup(t);
  const cases: [unknown, number, string][] = [
    [{ type: "nope", payload: {} }, 400, "unknown_task_type"],
    [{ type: "sleep", payload: { ms: 60_001 } }, 400, "invalid_request"],
    [{ type: "sleep", payload: { ms: "10" } }, 400, "invalid_request"],
    [{ type: "sleep", payload: null }, 400, "invalid_request"],
    [{ type: "sleep" }, 400, "invalid_request"],
    [{ type: "sleep", payload: { ms: 1 }, extra: 1 }, 400, "invalid_request"],
    [{ type: "", payload: {} }, 400, "invalid_request"],
  ];
  for (const [body, status, error] of cases) {
    const res = await post(body);
    assert.equal(res.statusCode, status, JSON.stringify(body));
    assert.equal(res.json().error, error, JSON.stringify(body));
    assert.equal(typeof res.json().message, "string");
  }
  const invalid = await post({ type: "sleep", payload: { ms: 60_001 } });
  assert.match(invalid.json().message, /payload\.ms must be <= 60000/);

  const big = await post({ type: "sleep", payload: { ms: 1, pad: "x".repeat(70 * 1024) } });
  assert.equal(big.statusCode, 413);
  const text = await app.inject({
    method: "POST",
    url: "/v1/tasks",
    headers: { ...admin, "content-type": "application/xml" },
    payload: "<task/>",
  });
  assert.equal(text.statusCode, 415);

  const id = newTaskId();
  for (const [method, url] of [
    ["POST", "/v1/tasks"],
    ["GET", `/v1/tasks/${id}`],
    ["GET", `/v1/tasks/${id}/events`],
    ["GET", "/v1/admin/tasks/dead-letters"],
    ["POST", `/v1/admin/tasks/dead-letters/${id}/retry`],
  ] as const) {
    const res = await app.inject({
      method,
      url,
      headers: { authorization: "Bearer wrong-token-wrong-token" },
      ...(method === "POST" ? { payload: { type: "sleep", payload: { ms: 1 } } } : {}),
    });
    assert.equal(res.statusCode, 401, `${method} ${url}`);
    assert.equal(res.json().error, "unauthorized");
  }
});

test("an Idempotency-Key answers the first task id and the task runs once", async (t) => {
  const { post, settled, calls, runtime } = await setup(t);
  const answers = await Promise.all(
    Array.from({ length: 5 }, () =>
      post({ type: "counted", payload: {} }, { "idempotency-key": "order-42" }),
    ),
  );
  const ids = new Set(answers.map((r) => r.json().taskId));
  assert.equal(ids.size, 1);
  for (const res of answers) assert.equal(res.statusCode, 202);
  const [taskId] = [...ids] as [string];
  assert.equal((await settled(taskId)).status, "succeeded");
  await sleep(100);
  assert.equal(calls.get(taskId), 1);
  const other = await post({ type: "counted", payload: {} }, { "idempotency-key": "order-43" });
  assert.notEqual(other.json().taskId, taskId);

  // A first request that died after taking its key and before publishing:
  // the repeat publishes the remembered task, which then runs.
  const lost = { taskId: newTaskId(), type: "counted", payload: {}, createdAt: Date.now(), maxAttempts: 2 };
  await runtime.tasks.store.rememberKey("order-44", lost);
  const repeat = await post({ type: "counted", payload: {} }, { "idempotency-key": "order-44" });
  assert.equal(repeat.json().taskId, lost.taskId);
  assert.equal((await settled(lost.taskId)).status, "succeeded");
  assert.equal(calls.get(lost.taskId), 1);
});

test("failed tasks land in the dead-letter list; retrying one gives it fresh attempts", async (t) => {
  const { post, settled, app } = await setup(t);
  const failing = (await post({ type: "fail", payload: { message: "always" } })).json().taskId as string;
  const flaky = (await post({ type: "flaky", payload: { failures: 1 } })).json().taskId as string;
  const dead = await settled(failing);
  assert.equal(dead.status, "failed");
  assert.equal(dead.attempts, 2);
  assert.equal(dead.error, "always");
  const ok = await settled(flaky);
  assert.equal(ok.status, "succeeded");
  assert.equal(ok.attempts, 2);
  assert.deepEqual(ok.result, { succeededOnAttempt: 2 });
  assert.equal(ok.error, undefined);

  const list = await app.inject({ url: "/v1/admin/tasks/dead-letters", headers: admin });
  assert.equal(list.statusCode, 200);
  assert.deepEqual(
    list.json().tasks.map((d: { taskId: string }) => d.taskId),
    [failing],
  );
  for (const query of ["limit=0", "limit=abc", "offset=-1", "limit=1001", "other=1"]) {
    const bad = await app.inject({ url: `/v1/admin/tasks/dead-letters?${query}`, headers: admin });
    assert.equal(bad.statusCode, 400, query);
  }
  const page = await app.inject({ url: "/v1/admin/tasks/dead-letters?limit=1&offset=1", headers: admin });
  assert.deepEqual(page.json().tasks, []);

  const retry = await app.inject({
    method: "POST",
    url: `/v1/admin/tasks/dead-letters/${failing}/retry`,
    headers: admin,
  });
  assert.equal(retry.statusCode, 202);
  assert.equal(retry.json().status, "queued");
  assert.equal(retry.json().maxAttempts, 4);
  await eventually(async () => {
    const res = await app.inject({ url: `/v1/tasks/${failing}`, headers: admin });
    return res.json().attempts === 4 && res.json().status === "failed";
  });
  for (const taskId of [flaky, newTaskId()]) {
    const notDead = await app.inject({
      method: "POST",
      url: `/v1/admin/tasks/dead-letters/${taskId}/retry`,
      headers: admin,
    });
    assert.equal(notDead.statusCode, 404);
    assert.equal(notDead.json().error, "task_not_found");
  }
});

test("GET /v1/tasks/:taskId/events streams every change and ends once the task is final", async (t) => {
  const { post, app } = await setup(t);
  const taskId = (await post({ type: "flaky", payload: { failures: 1 } })).json().taskId as string;
  const res = await app.inject({ url: `/v1/tasks/${taskId}/events`, headers: admin });
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers["content-type"]), /^text\/event-stream/);
  const events = res.body
    .split("\n\n")
    .filter((block) => block.startsWith("event: status"))
    .map((block) => JSON.parse(block.split("\ndata: ")[1]!) as { status: string; attempts: number });
  assert.ok(events.length >= 1);
  assert.deepEqual(events.at(-1), { ...events.at(-1), status: "succeeded", attempts: 2 });
  assert.equal(events.filter((e) => e.status === "succeeded").length, 1);
  for (let i = 1; i < events.length; i++)
    assert.ok(events[i]!.attempts >= events[i - 1]!.attempts, "never steps back");

  const missing = await app.inject({ url: `/v1/tasks/${newTaskId()}/events`, headers: admin });
  assert.equal(missing.statusCode, 404);
  assert.equal(missing.json().error, "task_not_found");
});

test("the SSE stream sends heartbeats while a task runs, and ends at once for a finished task", async (t) => {
  const { post, app, settled } = await setup(t);
  const slow = (await post({ type: "sleep", payload: { ms: 300 } })).json().taskId as string;
  const res = await app.inject({ url: `/v1/tasks/${slow}/events`, headers: admin });
  assert.match(res.body, /^: heartbeat$/m);
  assert.match(res.body, /"status":"succeeded"/);
  await settled(slow);
  const again = await app.inject({ url: `/v1/tasks/${slow}/events`, headers: admin });
  assert.equal(again.body.split("event: status").length - 1, 1);
});

test("the OpenAPI document lists the task routes, their error codes and the Task schema", async (t) => {
  const { app } = await setup(t);
  const doc = (await app.inject({ url: "/docs/json" })).json();
  const submit = doc.paths["/v1/tasks"].post;
  assert.match(submit.responses["400"].description, /`invalid_request`.*`unknown_task_type`/);
  assert.match(submit.description, /`sleep`/);
  assert.match(doc.paths["/v1/tasks/{taskId}"].get.responses["404"].description, /`task_not_found`/);
  assert.ok(doc.paths["/v1/tasks/{taskId}/events"].get);
  assert.ok(doc.paths["/v1/admin/tasks/dead-letters"].get);
  assert.ok(doc.paths["/v1/admin/tasks/dead-letters/{taskId}/retry"].post);
  assert.ok(doc.components.schemas.Task.properties.attempts);
  for (const path of ["/v1/tasks", "/v1/tasks/{taskId}"])
    for (const operation of Object.values(doc.paths[path]) as { security?: unknown }[])
      assert.deepEqual(operation.security, [{ admin: [] }], path);
});

test("without a task service, the task routes do not exist", async (t) => {
  const { app } = await embeddedApp(t, { services: { tasks: undefined } });
  const res = await app.inject({
    method: "POST",
    url: "/v1/tasks",
    headers: admin,
    payload: { type: "sleep", payload: { ms: 1 } },
  });
  assert.equal(res.statusCode, 404);
  assert.equal(res.json().error, "not_found");
});
