import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { type TestContext, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { TaskMessage, TaskRecord, TaskRetention, TaskStore } from "../../src/ports/task-store.ts";
import { eventually } from "../helpers/wait.ts";

/**
 * What every TaskStore must do, run against each implementation (SQLite,
 * Redis). Real time with short leases and TTLs: the Redis store takes its
 * clock from Redis TIME, which a test cannot move.
 */
export type OpenStore = (t: TestContext, retention: TaskRetention) => Promise<TaskStore>;

const RETENTION: TaskRetention = { ttlMs: 60_000, deadLetterTtlMs: 60_000 };

export function message(overrides: Partial<TaskMessage> = {}): TaskMessage {
  return {
    taskId: randomBytes(16).toString("base64url"),
    type: "demo",
    payload: { n: 1, nested: { s: "x" } },
    createdAt: Date.now(),
    maxAttempts: 3,
    ...overrides,
  };
}

async function running(
  store: TaskStore,
  m: TaskMessage,
  owner = "w1",
  leaseMs = 10_000,
): Promise<TaskRecord> {
  const started = await store.start(m, owner, leaseMs);
  assert.equal(started.kind, "run");
  return (started as { task: TaskRecord }).task;
}

export function taskStoreContract(name: string, open: OpenStore, skip: string | false = false): void {
  const it = (title: string, fn: (t: TestContext) => Promise<void>) =>
    test(`${name}: ${title}`, { skip }, fn);

  it("create is queued with no attempts, and a second create changes nothing", async (t) => {
    const store = await open(t, RETENTION);
    const m = message();
    await store.create(m);
    await store.create({ ...m, type: "other" });
    const task = await store.get(m.taskId);
    assert.equal(task?.status, "queued");
    assert.equal(task?.type, "demo");
    assert.equal(task?.attempts, 0);
    assert.equal(task?.maxAttempts, 3);
    assert.deepEqual(task?.payload, m.payload);
    assert.equal(task?.createdAt, m.createdAt);
    assert.equal(await store.get(message().taskId), undefined);
  });

  it("start creates a task whose message came first, and only one attempt holds it", async (t) => {
    const store = await open(t, RETENTION);
    const m = message();
    const task = await running(store, m);
    assert.equal(task.status, "running");
    assert.equal(task.attempts, 1);
    assert.ok(task.startedAt !== undefined);
    assert.deepEqual(await store.start(m, "w2", 10_000), { kind: "skip", reason: "leased" });
    await store.create(m); // the API's create, late: harmless
    assert.equal((await store.get(m.taskId))?.status, "running");
  });

  it("succeed records the result once; a stale attempt and a late message change nothing", async (t) => {
    const store = await open(t, RETENTION);
    const m = message();
    await running(store, m);
    assert.equal(await store.succeed(m.taskId, 2, { wrong: true }), undefined);
    const done = await store.succeed(m.taskId, 1, { ok: [1, 2] });
    assert.equal(done?.status, "succeeded");
    assert.deepEqual(done?.result, { ok: [1, 2] });
    assert.ok(done?.finishedAt !== undefined);
    assert.equal(await store.succeed(m.taskId, 1, { again: true }), undefined);
    assert.equal(await store.fail(m.taskId, 1, "late", undefined), undefined);
    assert.deepEqual(await store.start(m, "w1", 1000), { kind: "skip", reason: "finished" });
    assert.deepEqual((await store.get(m.taskId))?.result, { ok: [1, 2] });
    assert.deepEqual(await store.due(100, 1000), []);
  });

  it("a failed attempt with a retry waits for its time, then is due once and starts as attempt 2", async (t) => {
    const store = await open(t, RETENTION);
    const m = message();
    await running(store, m);
    const queued = await store.fail(m.taskId, 1, "boom", 300);
    assert.equal(queued?.status, "queued");
    assert.equal(queued?.error, "boom");
    assert.ok(queued?.runAfter !== undefined && queued.runAfter > Date.now() - 1000);
    assert.deepEqual(await store.start(m, "w1", 1000), { kind: "skip", reason: "not_due" });
    assert.deepEqual(await store.due(100, 5000), []);
    await sleep(450);
    const due = await store.due(100, 5000);
    assert.deepEqual(
      due.map((d) => d.taskId),
      [m.taskId],
    );
    assert.deepEqual(due[0], m);
    assert.deepEqual(await store.due(100, 5000), [], "held after being taken");
    const again = await running(store, m);
    assert.equal(again.attempts, 2);
    assert.equal(again.runAfter, undefined);
  });

  it("a final failure dead-letters; a retry queues it with fresh attempts and makes it due", async (t) => {
    const store = await open(t, RETENTION);
    const first = message();
    const second = message();
    await running(store, first);
    await running(store, second);
    const failed = await store.fail(first.taskId, 1, "no way", undefined);
    assert.equal(failed?.status, "failed");
    assert.equal(failed?.error, "no way");
    await sleep(5);
    await store.fail(second.taskId, 1, "nope", undefined);
    const dead = await store.deadLetters(10, 0);
    assert.deepEqual(
      dead.map((d) => d.taskId),
      [second.taskId, first.taskId],
      "newest first",
    );
    assert.deepEqual(
      (await store.deadLetters(1, 1)).map((d) => d.taskId),
      [first.taskId],
    );
    assert.deepEqual(await store.start(first, "w1", 1000), { kind: "skip", reason: "finished" });

    assert.equal(await store.retryDeadLetter(message().taskId, 3), undefined);
    const retried = await store.retryDeadLetter(first.taskId, 3);
    assert.equal(retried?.status, "queued");
    assert.equal(retried?.maxAttempts, 4);
    assert.equal(retried?.finishedAt, undefined);
    assert.equal(await store.retryDeadLetter(first.taskId, 3), undefined, "no longer dead-lettered");
    assert.deepEqual(
      (await store.deadLetters(10, 0)).map((d) => d.taskId),
      [second.taskId],
    );
    assert.deepEqual(
      (await store.due(100, 5000)).map((d) => d.taskId),
      [first.taskId],
    );
    assert.equal((await running(store, first)).attempts, 2);
  });

  it("an expired lease makes the task due; the next attempt takes over and the old one is stale", async (t) => {
    const store = await open(t, RETENTION);
    const m = message();
    await running(store, m, "w1", 150);
    assert.deepEqual(await store.due(100, 5000), []);
    await sleep(300);
    assert.deepEqual(
      (await store.due(100, 5000)).map((d) => d.taskId),
      [m.taskId],
    );
    const second = await running(store, m, "w2", 10_000);
    assert.equal(second.attempts, 2);
    assert.equal(await store.renew(m.taskId, 1, "w1", 10_000), false);
    assert.equal(await store.succeed(m.taskId, 1, "old"), undefined);
    assert.equal(await store.renew(m.taskId, 2, "w2", 10_000), true);
    assert.equal((await store.succeed(m.taskId, 2, "new"))?.result, "new");
  });

  it("renew keeps a lease alive past its first end", async (t) => {
    const store = await open(t, RETENTION);
    const m = message();
    await running(store, m, "w1", 250);
    await sleep(100);
    assert.equal(await store.renew(m.taskId, 1, "w1", 1000), true);
    await sleep(300);
    assert.deepEqual(await store.start(m, "w2", 1000), { kind: "skip", reason: "leased" });
    assert.deepEqual(await store.due(100, 5000), []);
  });

  it("attempts that never finish run out: the task is dead-lettered instead of looping", async (t) => {
    const store = await open(t, RETENTION);
    const m = message({ maxAttempts: 2 });
    await running(store, m, "w1", 100);
    await sleep(200);
    await running(store, m, "w2", 100);
    await sleep(200);
    const gaveUp = await store.start(m, "w3", 100);
    assert.equal(gaveUp.kind, "gave_up");
    const task = (gaveUp as { task: TaskRecord }).task;
    assert.equal(task.status, "failed");
    assert.equal(task.attempts, 2);
    assert.match(task.error ?? "", /attempt 2 did not finish/);
    assert.deepEqual(
      (await store.deadLetters(10, 0)).map((d) => d.taskId),
      [m.taskId],
    );
    assert.deepEqual(await store.due(100, 5000), []);
  });

  it("release gives an interrupted attempt back: due at once, the same attempt number runs again", async (t) => {
    const store = await open(t, RETENTION);
    const m = message();
    await running(store, m);
    await store.release(m.taskId, 2); // stale: nothing
    assert.equal((await store.get(m.taskId))?.status, "running");
    await store.release(m.taskId, 1);
    const task = await store.get(m.taskId);
    assert.equal(task?.status, "queued");
    assert.equal(task?.attempts, 0);
    assert.deepEqual(
      (await store.due(100, 5000)).map((d) => d.taskId),
      [m.taskId],
    );
    assert.equal((await running(store, m)).attempts, 1);
  });

  it("an Idempotency-Key remembers the first message", async (t) => {
    const store = await open(t, RETENTION);
    const first = message();
    assert.equal(await store.rememberKey("key-1", first), undefined);
    assert.deepEqual(await store.rememberKey("key-1", message()), first);
    assert.equal(await store.rememberKey("key-2", message()), undefined);
  });

  it("watch sees every change in order, and nothing after unwatching", async (t) => {
    const store = await open(t, RETENTION);
    const m = message();
    const seen: string[] = [];
    const unwatch = await store.watch(m.taskId, (task) => seen.push(`${task.status}:${task.attempts}`));
    const other: string[] = [];
    const unwatchOther = await store.watch(m.taskId, (task) => other.push(task.status));
    await store.create(m);
    await running(store, m);
    await store.fail(m.taskId, 1, "x", 0);
    await running(store, m);
    await eventually(() => other.length === 4); // notifications may travel (Redis pub/sub)
    unwatchOther();
    await store.succeed(m.taskId, 2, null);
    await eventually(() => seen.length === 5);
    assert.deepEqual(seen, ["queued:0", "running:1", "queued:1", "running:2", "succeeded:2"]);
    unwatch();
    await sleep(50);
    assert.deepEqual(other, ["queued", "running", "queued", "running"]);
  });

  it("finished tasks and dead letters are kept for their TTL only", async (t) => {
    const store = await open(t, { ttlMs: 300, deadLetterTtlMs: 600 });
    const ok = message();
    const bad = message();
    await running(store, ok);
    await running(store, bad);
    await store.succeed(ok.taskId, 1, 1);
    await store.fail(bad.taskId, 1, "x", undefined);
    assert.equal((await store.get(ok.taskId))?.status, "succeeded");
    await sleep(450);
    assert.equal(await store.get(ok.taskId), undefined);
    assert.equal((await store.get(bad.taskId))?.status, "failed");
    assert.equal((await store.deadLetters(10, 0)).length, 1);
    await sleep(300);
    assert.equal(await store.get(bad.taskId), undefined);
    assert.deepEqual(await store.deadLetters(10, 0), []);
  });
}
