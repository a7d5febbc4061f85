import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import pg from "pg";
import { loadConfig } from "../../../src/config/config.ts";
import { durabilityVerdict, postgresCheck } from "../../../src/ops/doctor/checks/postgres.ts";
import { persistenceVerdict } from "../../../src/ops/doctor/checks/redis.ts";
import { planChecks } from "../../../src/ops/doctor/plan.ts";
import { exitStatus, formatVerdict, runChecks } from "../../../src/ops/doctor/run.ts";
import type { Verdict } from "../../../src/ops/doctor/types.ts";
import { openEmbedded } from "../../../src/runtime/embedded.ts";
import { ADMIN_TOKEN, createCampaign, embeddedApp, embeddedConfig } from "../../helpers/embedded-app.ts";
import { tempDir } from "../../helpers/tmp.ts";

const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const DATABASE_URL = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const BIN = fileURLToPath(new URL("../../../bin/stampede.js", import.meta.url));
/** Nothing listens on port 1: "unreachable" without waiting for a timeout. */
const CLOSED_PORT = 1;

async function doctor(env: Record<string, string>): Promise<Verdict[]> {
  return runChecks(await planChecks(loadConfig({ PORT: String(CLOSED_PORT), ...env })));
}

const find = (verdicts: Verdict[], name: string) => verdicts.filter((v) => v.name === name);
const statusOf = (verdicts: Verdict[], name: string) => find(verdicts, name).map((v) => v.status);

/** Skips (or fails when CI=true) when the service is not there. */
async function reachable(t: TestContext, what: string, probe: () => Promise<unknown>): Promise<boolean> {
  try {
    await probe();
    return true;
  } catch (error) {
    if (process.env.CI === "true") throw error;
    t.skip(`${what} not reachable: ${(error as Error).message}`);
    return false;
  }
}

test("embedded: Node, DATA_DIR (writable, fsync, disk), the promise and the ledger schema", async (t) => {
  const dataDir = tempDir(t);
  const fresh = await doctor({ DATA_DIR: dataDir });
  assert.deepEqual(statusOf(fresh, "node"), ["ok"]);
  assert.deepEqual(statusOf(fresh, "mode"), ["ok"]);
  assert.notEqual(statusOf(fresh, "data-dir")[0], "fail");
  assert.match(find(fresh, "data-dir")[0]!.message, /writable/);
  assert.notEqual(statusOf(fresh, "disk")[0], "fail");
  assert.deepEqual(statusOf(fresh, "promise"), ["ok"]);
  assert.match(find(fresh, "promise")[0]!.message, /kill -9 and power loss/);
  assert.deepEqual(statusOf(fresh, "ledger"), ["info"], "no ledger before the first start");
  assert.deepEqual(statusOf(fresh, "server"), ["info"], "no server running is not a failure");
  assert.equal(exitStatus(fresh), 0);

  const runtime = await openEmbedded(
    embeddedConfig({ DATA_DIR: dataDir, FSYNC: "always" }),
    (await import("pino")).pino({ level: "silent" }),
  );
  await runtime.close();
  const started = await doctor({ DATA_DIR: dataDir, FSYNC: "off" });
  assert.deepEqual(statusOf(started, "ledger"), ["ok"]);
  assert.match(find(started, "ledger")[0]!.message, /version \d+ \(up to date\)/);
  assert.deepEqual(statusOf(started, "promise"), ["warn"], "FSYNC=off weakens the promise");
  assert.match(find(started, "promise")[0]!.fix!, /FSYNC/);
});

test("embedded: a DATA_DIR that cannot be written fails the doctor, with a fix", async (t) => {
  const file = join(tempDir(t), "not-a-dir");
  writeFileSync(file, "x");
  const verdicts = await doctor({ DATA_DIR: join(file, "data") });
  const dataDir = find(verdicts, "data-dir")[0]!;
  assert.equal(dataDir.status, "fail");
  assert.match(dataDir.fix!, /DATA_DIR/);
  assert.equal(exitStatus(verdicts), 1);
  assert.match(formatVerdict(dataDir), /^FAIL {2}data-dir {8}cannot create .* -> fix: /);
});

test("the running server: readiness and queue lag", async (t) => {
  const { app, dataDir } = await embeddedApp(t);
  await createCampaign(app, { id: "d1", name: "D", stock: 5 });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const port = (app.server.address() as { port: number }).port;
  const verdicts = await doctor({ DATA_DIR: dataDir, PORT: String(port), ADMIN_TOKEN });
  assert.deepEqual(statusOf(verdicts, "server"), ["ok"]);
  const lag = find(verdicts, "queue-lag")[0]!;
  assert.equal(lag.status, "info");
  assert.match(lag.message, /^0 queued, not yet processed \(claims 0, tasks 0\)$/);

  const wrongToken = await doctor({ DATA_DIR: dataDir, PORT: String(port), ADMIN_TOKEN: "x".repeat(20) });
  assert.deepEqual(statusOf(wrongToken, "queue-lag"), ["warn"]);
});

test("distributed: unreachable Redis and missing settings fail", async () => {
  const verdicts = await doctor({ REDIS_URL: `redis://127.0.0.1:${CLOSED_PORT}`, QUEUE: "redis" });
  const redis = find(verdicts, "redis")[0]!;
  assert.equal(redis.status, "fail");
  assert.match(redis.message, /cannot reach redis:\/\/127\.0\.0\.1:1/);
  assert.match(redis.fix!, /REDIS_URL/);
  const settings = find(verdicts, "settings")[0]!;
  assert.equal(settings.status, "fail");
  assert.match(settings.message, /DATABASE_URL, ADMIN_TOKEN/);
  assert.equal(find(verdicts, "data-dir").length, 0, "no DATA_DIR check in distributed mode");
  assert.equal(exitStatus(verdicts), 1);
});

test("distributed: Redis version, eviction policy, persistence and memory", async (t) => {
  const verdicts = await doctor({
    REDIS_URL,
    QUEUE: "redis",
    ADMIN_TOKEN,
    DATABASE_URL: `postgres://127.0.0.1:${CLOSED_PORT}/x`,
  });
  const redis = find(verdicts, "redis")[0]!;
  if (redis.status === "fail" && /cannot reach/.test(redis.message)) {
    if (process.env.CI === "true") assert.fail(redis.message);
    t.skip(`Redis not reachable: ${redis.message}`);
    return;
  }
  assert.equal(redis.status, "ok");
  assert.match(redis.message, /answers, Redis \d+\.\d+/);
  const eviction = find(verdicts, "redis-eviction")[0]!;
  assert.ok(["ok", "warn", "fail"].includes(eviction.status));
  assert.equal(eviction.status === "ok", /noeviction/.test(eviction.message));
  assert.equal(find(verdicts, "promise").length, 1);
  assert.match(find(verdicts, "redis-memory")[0]!.message, /^used .* rss .* fragmentation/);
  assert.equal(find(verdicts, "postgres")[0]!.status, "fail");
  assert.equal(exitStatus(verdicts), 1);
});

test("what a 202 survives, from Redis persistence and the queue", () => {
  const durability = (appendonly: string, appendfsync: string, survivesRestart: boolean) => ({
    appendonly,
    appendfsync,
    survivesRestart,
    summary: `summary ${appendonly}/${appendfsync}`,
  });
  const always = persistenceVerdict(durability("yes", "always", true), "redis");
  assert.equal(always.status, "ok");
  assert.equal(always.message, "summary yes/always");
  const everysec = persistenceVerdict(durability("yes", "everysec", false), "redis");
  assert.equal(everysec.status, "warn");
  assert.match(everysec.fix!, /appendfsync always/);
  assert.equal(persistenceVerdict(durability("no", "everysec", false), "memory").status, "warn");
  assert.equal(persistenceVerdict(durability("no", "everysec", false), "kafka").status, "ok");
});

test("kafka: unreachable brokers fail, naming KAFKA_BROKERS (the rest: test/adapters/kafka/doctor.test.ts)", async () => {
  const verdicts = await doctor({ QUEUE: "kafka", KAFKA_BROKERS: `127.0.0.1:${CLOSED_PORT}` });
  const kafka = find(verdicts, "kafka")[0]!;
  assert.equal(kafka.status, "fail");
  assert.match(kafka.message, /cannot reach Kafka at 127\.0\.0\.1:1/);
  assert.match(kafka.fix!, /KAFKA_BROKERS/);
});

test("postgres: version and schema version", async (t) => {
  const client = new pg.Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 3000 });
  client.on("error", () => undefined);
  if (!(await reachable(t, "PostgreSQL", () => client.connect()))) return;
  const schema = `stampede_test_ops_${randomBytes(6).toString("hex")}`;
  t.after(async () => {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.end();
  });
  const check = (latest?: number) =>
    runChecks([postgresCheck({ url: DATABASE_URL, schema, latestSchemaVersion: latest })]);

  const missing = await check(3);
  assert.equal(find(missing, "postgres")[0]!.status, "ok");
  assert.match(find(missing, "postgres")[0]!.message, /PostgreSQL \d+/);
  assert.equal(find(missing, "postgres-schema")[0]!.status, "warn");
  assert.match(find(missing, "postgres-schema")[0]!.fix!, /stampede migrate/);

  await client.query(`CREATE SCHEMA ${schema}`);
  await client.query(`CREATE TABLE ${schema}.schema_migrations (version int PRIMARY KEY)`);
  await client.query(`INSERT INTO ${schema}.schema_migrations VALUES (1), (2), (3)`);
  assert.equal(find(await check(3), "postgres-schema")[0]!.status, "ok");
  const behind = find(await check(4), "postgres-schema")[0]!;
  assert.equal(behind.status, "fail");
  assert.match(behind.message, /version 3, this stampede needs 4/);
  assert.equal(find(await check(), "postgres-schema")[0]!.status, "info");
  // This machine's PostgreSQL runs with its durable defaults; the verdict reads them.
  const durability = find(await check(3), "postgres-durability")[0]!;
  const { rows } = await client.query(
    "SELECT current_setting('fsync') AS f, current_setting('synchronous_commit') AS s",
  );
  const durable = rows[0].f === "on" && rows[0].s !== "off";
  assert.equal(durability.status, durable ? "ok" : "warn");
  assert.match(durability.message, new RegExp(`fsync=${rows[0].f}`));
});

test("postgres-durability: synchronous_commit off is a warning, fsync or full_page_writes off a failure", () => {
  const safe = { fsync: "on", synchronous_commit: "on", full_page_writes: "on" };
  assert.equal(durabilityVerdict(safe).status, "ok");
  for (const level of ["remote_write", "remote_apply", "local"])
    assert.equal(durabilityVerdict({ ...safe, synchronous_commit: level }).status, "ok", level);
  const lazy = durabilityVerdict({ ...safe, synchronous_commit: "off" });
  assert.equal(lazy.status, "warn");
  assert.match(lazy.message, /^synchronous_commit=off: a PostgreSQL crash can lose issued claims/);
  const reckless = durabilityVerdict({ ...safe, fsync: "off", full_page_writes: "off" });
  assert.equal(reckless.status, "fail");
  assert.match(reckless.message, /fsync=off, full_page_writes=off/);
  assert.match(reckless.fix!, /docs\/guarantees\.md/);
});

test("stampede doctor prints one verdict per line and exits non-zero on a failure", async (t) => {
  const run = promisify(execFile);
  const dataDir = tempDir(t);
  const good = await run(process.execPath, [
    BIN,
    "doctor",
    "--data-dir",
    dataDir,
    "--port",
    String(CLOSED_PORT),
  ]);
  const lines = good.stdout.trim().split("\n");
  assert.match(lines[0]!, /^OK {4}node {12}Node\.js 24\./);
  assert.match(lines.at(-1)!, /^stampede doctor: all good/);
  for (const line of lines.slice(0, -1)) assert.match(line, /^(OK|INFO|WARN|FAIL) +\S+ +\S/);

  const bad = await run(
    process.execPath,
    [BIN, "doctor", "--redis-url", `redis://127.0.0.1:${CLOSED_PORT}`],
    {
      env: { ...process.env, QUEUE: "redis", PORT: String(CLOSED_PORT) },
    },
  ).then(
    () => assert.fail("expected a non-zero exit"),
    (error: { code: number; stdout: string }) => error,
  );
  assert.equal(bad.code, 1);
  assert.match(bad.stdout, /^FAIL {2}redis {11}cannot reach .* -> fix: start Redis or correct REDIS_URL$/m);
  assert.match(bad.stdout, /problem\(s\) to fix/);
});
