import assert from "node:assert/strict";
import { test } from "node:test";
import pg from "pg";
import { postgresCheck } from "../../../src/ops/doctor/checks/postgres.ts";
import { exitStatus, runChecks } from "../../../src/ops/doctor/run.ts";
import { CLOSED_PORT, doctor, find } from "../../helpers/doctor.ts";
import { ADMIN_TOKEN } from "../../helpers/embedded-app.ts";
import {
  DATABASE_URL,
  REDIS_URL,
  skipWithoutPostgres,
  skipWithoutRedis,
  testSchema,
} from "../../helpers/services.ts";

/** The doctor's Redis and PostgreSQL checks against the shared services (the rest: doctor.test.ts). */
const skipRedis = await skipWithoutRedis();
const skipPostgres = await skipWithoutPostgres();
test("distributed: Redis version, eviction policy, persistence and memory", { skip: skipRedis }, async () => {
  const verdicts = await doctor({
    REDIS_URL,
    QUEUE: "redis",
    ADMIN_TOKEN,
    DATABASE_URL: `postgres://127.0.0.1:${CLOSED_PORT}/x`,
  });
  const redis = find(verdicts, "redis")[0]!;
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

test("postgres: version and schema version", { skip: skipPostgres }, async (t) => {
  const client = new pg.Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 3000 });
  await client.connect();
  t.after(() => client.end());
  const schema = testSchema(t, "doctor");
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
