import assert from "node:assert/strict";
import { test } from "node:test";
import { BUILTIN_TASKS, sleepTask } from "../../../src/services/tasks/builtin.ts";
import { createTask, defineTask, isTaskDefinition } from "../../../src/services/tasks/define.ts";
import { defaultRegistry, TaskRegistry } from "../../../src/services/tasks/registry.ts";
import { backoffDelay } from "../../../src/workers/backoff.ts";

test("defineTask registers in the process's registry; createTask does not", () => {
  const defined = defineTask("define-test-registered", { type: "object" }, () => 1);
  assert.equal(defaultRegistry().get("define-test-registered"), defined);
  const created = createTask("define-test-private", { type: "object" }, () => 1);
  assert.equal(defaultRegistry().get("define-test-private"), undefined);
  assert.ok(isTaskDefinition(created));
  assert.ok(!isTaskDefinition({ name: "x", handler: () => 1 }));
  // The built-ins registered themselves when builtin.ts loaded.
  assert.equal(defaultRegistry().get("sleep"), sleepTask);
});

test("a definition checks payloads against its JSON schema, exactly (no coercion, no defaults)", () => {
  const task = createTask(
    "define-test-schema",
    {
      type: "object",
      required: ["email", "count"],
      additionalProperties: false,
      properties: {
        email: { type: "string", format: "email" },
        count: { type: "integer", minimum: 1, default: 5 },
      },
    },
    () => 1,
  );
  assert.equal(task.check({ email: "a@example.com", count: 2 }), undefined);
  assert.match(task.check({ email: "a@example.com", count: "2" }) ?? "", /payload\.count must be integer/);
  assert.match(
    task.check({ email: "not-an-email", count: 2 }) ?? "",
    /payload\.email must match format "email"/,
  );
  assert.match(task.check({ email: "a@example.com" }) ?? "", /must have required property 'count'/);
  assert.match(task.check({ email: "a@example.com", count: 1, x: 1 }) ?? "", /additional properties/);
  const payload = { email: "a@example.com", count: 1 };
  task.check(payload);
  assert.deepEqual(payload, { email: "a@example.com", count: 1 }, "the payload is not changed");
});

test("bad definitions fail when they are made, with the task's name", () => {
  assert.throws(() => createTask("has space", {}, () => 1), /task name "has space" must match/);
  assert.throws(
    () => createTask("bad-schema", { type: "nonsense" }, () => 1),
    /"bad-schema": invalid payload schema/,
  );
  assert.throws(() => createTask("no-handler", {}, undefined as never), /the handler must be a function/);
});

test("a registry refuses a second definition under a taken name, and accepts the same one twice", () => {
  const one = createTask("same-name", true, () => 1);
  const two = createTask("same-name", true, () => 2);
  const registry = new TaskRegistry([one, one]);
  assert.throws(() => registry.add(two), /task type "same-name" is defined twice/);
  assert.deepEqual(new TaskRegistry(BUILTIN_TASKS).names(), ["fail", "flaky", "sleep"]);
});

test("the built-in sleep waits, returns its payload, and stops when its signal fires", async () => {
  const controller = new AbortController();
  const started = performance.now();
  const result = await sleepTask.handler({
    taskId: "t",
    attempt: 1,
    payload: { ms: 50 },
    signal: controller.signal,
  });
  assert.deepEqual(result, { ms: 50 });
  assert.ok(performance.now() - started >= 45);
  const pending = Promise.resolve(
    sleepTask.handler({
      taskId: "t",
      attempt: 1,
      payload: { ms: 60_000 },
      signal: controller.signal,
    }),
  );
  controller.abort(new Error("stop"));
  await assert.rejects(pending, /stop/);
  assert.ok(sleepTask.check({ ms: 60_001 }));
  assert.ok(sleepTask.check({ ms: -1 }));
  assert.equal(sleepTask.check({ ms: 60_000 }), undefined);
});

test("backoff doubles from the base up to the cap, less at most 20% jitter", () => {
  const options = { baseMs: 1000, maxMs: 10_000 };
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6].map((a) => backoffDelay(a, options, () => 0)),
    [1000, 2000, 4000, 8000, 10_000, 10_000],
  );
  assert.equal(
    backoffDelay(3, options, () => 1),
    3200,
  );
  assert.equal(
    backoffDelay(1000, options, () => 0),
    10_000,
    "no overflow for large attempts",
  );
});
