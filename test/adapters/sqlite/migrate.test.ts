/** The SQLite migration runner, shared by the embedded ledger and the embedded task store. */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { type TestContext, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { readMigrations } from "../../../src/adapters/migration-files.ts";
import { migrate } from "../../../src/adapters/sqlite/migrate.ts";
import { ledgerMigrations, SqliteLedger } from "../../../src/adapters/sqlite/sqlite-ledger.ts";
import { SqliteTaskStore } from "../../../src/adapters/sqlite/tasks/sqlite-task-store.ts";
import { tempDir } from "../../helpers/tmp.ts";

/** A folder of migration files, and the URL readMigrations() takes. */
function migrationsDir(t: TestContext, files: Record<string, string>) {
  const dir = tempDir(t);
  const add = (more: Record<string, string>) => {
    for (const [name, sql] of Object.entries(more)) writeFileSync(join(dir, name), sql);
  };
  add(files);
  return { url: pathToFileURL(`${dir}/`), add };
}

function database(t: TestContext, path = join(tempDir(t), "db.sqlite")): DatabaseSync {
  const db = new DatabaseSync(path);
  t.after(() => db.close());
  return db;
}

const versions = (db: DatabaseSync) =>
  (db.prepare("SELECT version FROM schema_migrations ORDER BY version").all() as { version: number }[]).map(
    (r) => r.version,
  );
const tables = (db: DatabaseSync) =>
  (
    db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as {
      name: string;
    }[]
  ).map((r) => r.name);
const userVersion = (db: DatabaseSync) =>
  (db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version;

test("applies each numbered file once, in order, recorded by version; later runs apply only what is new", (t) => {
  const dir = migrationsDir(t, {
    "0002_more.sql": "ALTER TABLE a ADD COLUMN y INTEGER;",
    "0001_first.sql": "CREATE TABLE a (x INTEGER);",
    "notes.txt": "not a migration",
  });
  const db = database(t);
  assert.deepEqual(migrate(db, readMigrations(dir.url)), [1, 2]);
  assert.deepEqual(migrate(db, readMigrations(dir.url)), []);
  dir.add({ "0003_b.sql": "CREATE TABLE b (x INTEGER);" });
  assert.deepEqual(migrate(db, readMigrations(dir.url)), [3]);
  assert.deepEqual(versions(db), [1, 2, 3]);
  assert.deepEqual(tables(db), ["a", "b", "schema_migrations"]);
  assert.equal(userVersion(db), 0, "user_version is left alone unless asked for");
});

test("a failing migration leaves the database as it was: nothing applied, nothing recorded", (t) => {
  const dir = migrationsDir(t, {
    "0001_first.sql": "CREATE TABLE a (x INTEGER);",
    "0002_broken.sql": "CREATE TABLE b (x INTEGER); INSERT INTO nowhere VALUES (1);",
  });
  const db = database(t);
  assert.throws(() => migrate(db, readMigrations(dir.url)), /no such table: nowhere/);
  assert.deepEqual(tables(db), []);
  assert.equal(db.isTransaction, false);
  dir.add({ "0002_broken.sql": "CREATE TABLE b (x INTEGER);" });
  assert.deepEqual(migrate(db, readMigrations(dir.url)), [1, 2]);
});

/** Runs migrate() on `count` worker threads, each with its own connection to `path`, released at the same instant. */
async function migrateAtOnce(count: number, path: string, dir: URL): Promise<number[][]> {
  const gate = new Int32Array(new SharedArrayBuffer(8)); // [0]: go, [1]: workers ready
  const module = (file: string) => new URL(`../../../src/adapters/${file}`, import.meta.url).href;
  const workers = Array.from(
    { length: count },
    () =>
      new Worker(
        `const { workerData, parentPort } = require("node:worker_threads");
         const { DatabaseSync } = require("node:sqlite");
         (async () => {
           const { migrate } = await import(workerData.runner);
           const { readMigrations } = await import(workerData.files);
           const db = new DatabaseSync(workerData.path);
           db.exec("PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL;");
           const gate = new Int32Array(workerData.gate);
           Atomics.add(gate, 1, 1);
           Atomics.wait(gate, 0, 0);
           const applied = migrate(db, readMigrations(new URL(workerData.dir)));
           db.close();
           parentPort.postMessage(applied);
         })();`,
        {
          eval: true,
          workerData: {
            runner: module("sqlite/migrate.ts"),
            files: module("migration-files.ts"),
            path,
            dir: dir.href,
            gate: gate.buffer,
          },
        },
      ),
  );
  let failed = false;
  const results = workers.map(
    (worker) =>
      new Promise<number[]>((resolve, reject) => {
        worker.once("message", resolve);
        worker.once("error", (error) => {
          failed = true;
          reject(error);
        });
      }),
  );
  try {
    while (Atomics.load(gate, 1) < count && !failed) await sleep(5);
    Atomics.store(gate, 0, 1);
    Atomics.notify(gate, 0);
    return await Promise.all(results);
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}

test("processes migrating one file at once apply each migration once; the others wait and find it done", async (t) => {
  const path = join(tempDir(t), "shared.sqlite");
  const dir = migrationsDir(t, { "0001_first.sql": "CREATE TABLE a (x INTEGER);" });
  // A new file: every process starts by creating schema_migrations.
  let applied = await migrateAtOnce(4, path, dir.url);
  assert.deepEqual(
    applied.filter((a) => a.length > 0),
    [[1]],
  );
  // An upgrade: every process reads the versions applied before it writes. A slow
  // migration holds the write lock while the others start.
  dir.add({
    "0002_slow.sql": `CREATE TABLE n (i INTEGER);
      WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 300000)
      INSERT INTO n SELECT i FROM c;`,
    "0003_next.sql": "CREATE TABLE m (i INTEGER);",
  });
  applied = await migrateAtOnce(4, path, dir.url);
  assert.deepEqual(
    applied.filter((a) => a.length > 0),
    [[2, 3]],
  );
  const db = database(t, path);
  assert.deepEqual(versions(db), [1, 2, 3]);
  assert.equal((db.prepare("SELECT count(*) AS n FROM n").get() as { n: number }).n, 300_000);
});

test("a task store migrated by PRAGMA user_version before the runner opens as it was and stays readable by it", async (t) => {
  const dataDir = tempDir(t);
  const tasksMigrations = readMigrations(
    new URL("../../../src/adapters/sqlite/tasks/migrations/", import.meta.url),
  );
  const before = new DatabaseSync(join(dataDir, "tasks.sqlite"));
  before.exec(tasksMigrations[0]!.sql);
  before.exec("INSERT INTO task_keys (key, message, expires_at) VALUES ('k', '{}', 1)");
  before.exec("PRAGMA user_version = 1");
  before.close();

  const store = new SqliteTaskStore({ dataDir, retention: { ttlMs: 60_000, deadLetterTtlMs: 60_000 } });
  await store.close();
  const db = database(t, join(dataDir, "tasks.sqlite"));
  assert.deepEqual(versions(db), [1], "recognised, not applied again");
  assert.equal(userVersion(db), 1);

  // A later migration moves user_version along, for a stampede that reads only that.
  const dir = migrationsDir(t, { "0002_next.sql": "CREATE TABLE later (x INTEGER);" });
  assert.deepEqual(migrate(db, [...tasksMigrations, ...readMigrations(dir.url)], { userVersion: true }), [2]);
  assert.equal(userVersion(db), 2);
});

test("the embedded ledger records every migration it ships, and opens a migrated file as it is", async (t) => {
  const dataDir = tempDir(t);
  const first = new SqliteLedger(dataDir);
  await first.migrate();
  await first.close();
  const again = new SqliteLedger(dataDir);
  t.after(() => again.close());
  await again.migrate();
  assert.deepEqual(
    versions(again.database),
    ledgerMigrations().map((m) => m.version),
  );
});

test("the holds migration keeps a ledger written before it: its claims issued, its keys guarding, its deliveries due", async (t) => {
  const dataDir = tempDir(t);
  const before = new DatabaseSync(join(dataDir, "ledger.sqlite"));
  before.exec("PRAGMA foreign_keys = ON");
  migrate(
    before,
    ledgerMigrations().filter((m) => m.version <= 2),
  );
  before.exec(`
    INSERT INTO campaigns (id, name, stock, per_user_limit, created_at) VALUES ('old', 'Old', 5, 1, 1);
    INSERT INTO claims (claim_id, campaign_id, user_id, seq, unit, coupon_code, admitted_at, issued_at, idempotency_key)
      VALUES ('claim-a', 'old', 'alice', 1, 1, 'CODE-A', 10, 20, 'k'), ('claim-b', 'old', 'bob', 1, 2, 'CODE-B', 11, 21, NULL);
    INSERT INTO webhooks (campaign_id, url, secret, updated_at) VALUES ('old', 'https://shop.example/h', 's', 1);
    INSERT INTO deliveries (claim_id, campaign_id, next_attempt_at, created_at) VALUES ('claim-a', 'old', 30, 20);
    INSERT INTO deliveries (claim_id, campaign_id, state, next_attempt_at, created_at, delivered_at)
      VALUES ('claim-b', 'old', 'delivered', 31, 21, 40);`);
  before.close();

  const ledger = new SqliteLedger(dataDir);
  t.after(() => ledger.close());
  await ledger.migrate();
  assert.deepEqual(
    versions(ledger.database),
    ledgerMigrations().map((m) => m.version),
  );
  assert.deepEqual(await ledger.findClaim("claim-a"), {
    claimId: "claim-a",
    campaignId: "old",
    userId: "alice",
    seq: 1,
    unit: 1,
    couponCode: "CODE-A",
    admittedAt: 10,
    status: "issued",
    issuedAt: 20,
    idempotencyKey: "k",
  });
  assert.equal((await ledger.getCampaign("old"))?.holdSeconds, undefined);
  assert.deepEqual(await ledger.counts("old"), { issued: 2, held: 0 });
  const thief = {
    claimId: "claim-c",
    campaignId: "old",
    userId: "carol",
    seq: 1,
    unit: 2,
    couponCode: "CODE-C",
    admittedAt: 50,
    status: "pending" as const,
  };
  assert.equal((await ledger.write([thief], 60)).conflicts[0]?.blocker?.claimId, "claim-b");
  const due = await ledger.deliveries.claimDue(100, 10, 200);
  assert.deepEqual(
    due.map((d) => [d.deliveryId, d.event, d.claim.claimId]),
    [["iss_claim-a", "claim.issued", "claim-a"]],
  );
  assert.equal(
    (ledger.database.prepare("PRAGMA foreign_key_check").all() as unknown[]).length,
    0,
    "every delivery still names its claim",
  );
});
