import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { durabilityVerdict } from "../../../src/ops/doctor/checks/postgres.ts";
import { persistenceVerdict } from "../../../src/ops/doctor/checks/redis.ts";
import { exitStatus, formatVerdict } from "../../../src/ops/doctor/run.ts";
import { openEmbedded } from "../../../src/runtime/embedded.ts";
import { runCli } from "../../helpers/cli.ts";
import { CLOSED_PORT, doctor, find, statusOf } from "../../helpers/doctor.ts";
import { ADMIN_TOKEN, createCampaign, embeddedApp, embeddedConfig } from "../../helpers/embedded-app.ts";
import { tempDir } from "../../helpers/tmp.ts";

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
  assert.match(lag.message, /^0 queued, not yet processed \(claims 0, tasks 0, tickets 0\)$/);

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

test("postgres-durability: fsync, synchronous_commit or full_page_writes off is a warning naming it", () => {
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
  const dataDir = tempDir(t);
  const good = await runCli(["doctor", "--data-dir", dataDir, "--port", String(CLOSED_PORT)], {});
  assert.equal(good.status, 0, good.stdout + good.stderr);
  const lines = good.stdout.trim().split("\n");
  assert.match(lines[0]!, /^OK {4}node {12}Node\.js 24\./);
  assert.match(lines.at(-1)!, /^stampede doctor: all good/);
  for (const line of lines.slice(0, -1)) assert.match(line, /^(OK|INFO|WARN|FAIL) +\S+ +\S/);

  const bad = await runCli(["doctor", "--redis-url", `redis://127.0.0.1:${CLOSED_PORT}`], {
    QUEUE: "redis",
    PORT: String(CLOSED_PORT),
  });
  assert.equal(bad.status, 1);
  assert.match(bad.stdout, /^FAIL {2}redis {11}cannot reach .* -> fix: start Redis or correct REDIS_URL$/m);
  assert.match(bad.stdout, /problem\(s\) to fix/);
});
