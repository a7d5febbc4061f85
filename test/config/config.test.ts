import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { ConfigError, loadConfig } from "../../src/config/config.ts";
import { runCli } from "../helpers/cli.ts";

const BIN = fileURLToPath(new URL("../../bin/stampede.js", import.meta.url));

test("defaults with no configuration", () => {
  const config = loadConfig({});
  assert.equal(config.PORT, 8080);
  assert.equal(config.HOST, "127.0.0.1");
  assert.equal(config.QUEUE, "memory");
  assert.equal(config.DATA_DIR, "./data");
  assert.equal(config.ADMIN_TOKEN, undefined);
  assert.deepEqual(config.CORS_ORIGINS, []);
});

test("flags win over the environment", () => {
  const config = loadConfig({ PORT: "9000" }, [
    "--port",
    "9001",
    "--cors-origins=https://a.example,https://b.example",
  ]);
  assert.equal(config.PORT, 9001);
  assert.deepEqual(config.CORS_ORIGINS, ["https://a.example", "https://b.example"]);
});

test('KAFKA_ISSUED_TOPIC: stampede.issued by default, "" turns it off', () => {
  assert.equal(loadConfig({}).KAFKA_ISSUED_TOPIC, "stampede.issued");
  assert.equal(loadConfig({ KAFKA_ISSUED_TOPIC: "shop.coupons" }).KAFKA_ISSUED_TOPIC, "shop.coupons");
  assert.equal(loadConfig({ KAFKA_ISSUED_TOPIC: "" }).KAFKA_ISSUED_TOPIC, undefined);
  assert.equal(loadConfig({}, ["--kafka-issued-topic="]).KAFKA_ISSUED_TOPIC, undefined);
});

test("each bad setting is refused naming the setting", () => {
  const cases: [NodeJS.ProcessEnv, string[], string][] = [
    [{ PORT: "eighty" }, [], "PORT"],
    [{ PORT: "70000" }, [], "PORT"],
    [{ QUEUE: "rabbit" }, [], "QUEUE"],
    [{ REDIS_URL: "localhost:6379" }, [], "REDIS_URL"],
    [{ DATABASE_URL: "mysql://x" }, [], "DATABASE_URL"],
    [{ KAFKA_BROKERS: "no-port" }, [], "KAFKA_BROKERS"],
    [{ QUEUE: "kafka" }, [], "KAFKA_BROKERS"],
    [{ ADMIN_TOKEN: "short" }, [], "ADMIN_TOKEN"],
    [{}, ["--no-such-flag", "1"], "(flags)"],
  ];
  for (const [env, argv, setting] of cases) {
    assert.throws(
      () => loadConfig(env, argv),
      (error: unknown) => error instanceof ConfigError && error.setting === setting,
      `${JSON.stringify(env)} ${argv.join(" ")}`,
    );
  }
});

test("the CLI prints one line naming the setting and exits 2, no stack trace", async () => {
  const result = await runCli(["start"], { PORT: "not-a-port" });
  assert.equal(result.status, 2);
  assert.equal(result.stderr, 'stampede: invalid setting PORT: expected an integer, got "not-a-port"\n');
  assert.equal(result.stdout, "");
});

test("--help lists the commands and every setting", () => {
  const result = spawnSync(process.execPath, [BIN, "--help"], { encoding: "utf8" });
  assert.equal(result.status, 0);
  for (const word of [
    "start",
    "api",
    "worker",
    "migrate",
    "bench",
    "doctor",
    "PORT",
    "ADMIN_TOKEN",
    "DATA_DIR",
  ])
    assert.match(result.stdout, new RegExp(`\\b${word}\\b`));
  const unknown = spawnSync(process.execPath, [BIN, "frobnicate"], { encoding: "utf8" });
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /unknown command "frobnicate"/);
});

test("the embedded mode generates an admin token once, readable by its owner only", async (t) => {
  const { embeddedAdminToken } = await import("../../src/runtime/admin-token.ts");
  const { tempDir } = await import("../helpers/tmp.ts");
  const { statSync } = await import("node:fs");
  const dir = tempDir(t);
  const first = await embeddedAdminToken(dir);
  const second = await embeddedAdminToken(dir);
  assert.equal(first.created, true);
  assert.equal(second.created, false);
  assert.equal(second.token, first.token);
  assert.ok(first.token.length >= 32);
  assert.equal(statSync(`${dir}/admin-token`).mode & 0o777, 0o600);
});
