import assert from "node:assert/strict";
import { test } from "node:test";
import { SqliteTaskStore } from "../../../../src/adapters/sqlite/tasks/sqlite-task-store.ts";
import { message, taskStoreContract } from "../../../contracts/task-store.ts";
import { tempDir } from "../../../helpers/tmp.ts";

taskStoreContract("sqlite", async (t, retention) => {
  const store = new SqliteTaskStore({ dataDir: tempDir(t), retention });
  t.after(() => store.close());
  return store;
});

test("sqlite: reopening voids the leases of the previous process and keeps everything else", async (t) => {
  const dataDir = tempDir(t);
  const retention = { ttlMs: 60_000, deadLetterTtlMs: 60_000 };
  const first = new SqliteTaskStore({ dataDir, retention });
  const m = message();
  const done = message();
  assert.equal((await first.start(m, "old", 60_000)).kind, "run");
  await first.start(done, "old", 60_000);
  await first.succeed(done.taskId, 1, { kept: true });
  assert.deepEqual(await first.due(10, 1000), []);
  await first.close();

  const second = new SqliteTaskStore({ dataDir, retention });
  t.after(() => second.close());
  assert.deepEqual((await second.get(done.taskId))?.result, { kept: true });
  // The attempt died with its process: due now, and startable as attempt 2.
  assert.deepEqual(
    (await second.due(10, 1000)).map((d) => d.taskId),
    [m.taskId],
  );
  const started = await second.start(m, "new", 60_000);
  assert.equal(started.kind, "run");
  assert.equal(started.kind === "run" && started.task.attempts, 2);
});

test("sqlite: an injected clock drives leases, retries and expiry", async (t) => {
  let now = 1_000_000;
  const store = new SqliteTaskStore({
    dataDir: tempDir(t),
    retention: { ttlMs: 10_000, deadLetterTtlMs: 20_000 },
    now: () => now,
  });
  t.after(() => store.close());
  const m = message();
  await store.start(m, "w", 5000);
  now += 4999;
  assert.deepEqual(await store.start(m, "w2", 5000), { kind: "skip", reason: "leased" });
  now += 1;
  assert.equal((await store.start(m, "w2", 5000)).kind, "run");
  await store.fail(m.taskId, 2, "x", 7000);
  assert.equal((await store.get(m.taskId))?.runAfter, now + 7000);
  now += 7000;
  assert.equal((await store.start(m, "w3", 5000)).kind, "run");
  await store.succeed(m.taskId, 3, "ok");
  now += 9999;
  assert.equal((await store.get(m.taskId))?.status, "succeeded");
  now += 1;
  assert.equal(await store.get(m.taskId), undefined);
});
