import assert from "node:assert/strict";
import { availableParallelism } from "node:os";
import { test } from "node:test";
import { distributedConfig, requireDistributed, startConfig } from "../../src/config/commands.ts";
import { ConfigError, loadConfig } from "../../src/config/config.ts";
import { runCli } from "../helpers/cli.ts";

/** The settings each server command takes (src/config/commands.ts). */
const refusedAs = (setting: string) => (error: unknown) =>
  error instanceof ConfigError && error.setting === setting && !error.message.includes("\n");

const distributed = {
  ADMIN_TOKEN: "a".repeat(20),
  REDIS_URL: "redis://127.0.0.1:6379",
  DATABASE_URL: "postgres://127.0.0.1/x",
};

test("stampede start refuses every distributed-mode setting it is given, from the environment or a flag", () => {
  for (const [name, value] of [
    ["REDIS_URL", "redis://127.0.0.1:6379"],
    ["DATABASE_URL", "postgres://127.0.0.1/x"],
    ["KAFKA_BROKERS", "127.0.0.1:9092"],
    ["KAFKA_TOPIC", "stampede.claims"],
    ["REDIS_PREFIX", "stampede"],
    ["LOSS_CHECK_MS", "2000"],
  ]) {
    assert.throws(() => startConfig({ [name!]: value }), refusedAs(name!), `${name} in the environment`);
    const flag = `--${name!.toLowerCase().replaceAll("_", "-")}`;
    assert.throws(() => startConfig({}, [flag, value!]), refusedAs(name!), `${flag}`);
  }
  assert.throws(() => startConfig({ QUEUE: "redis" }), refusedAs("QUEUE"));
  assert.throws(() => startConfig({ QUEUE: "kafka", KAFKA_BROKERS: "127.0.0.1:9092" }), refusedAs("QUEUE"));
  assert.throws(() => startConfig({ PROCESSES: "4" }), refusedAs("PROCESSES"));
});

test("stampede start takes its own settings, QUEUE=memory and PROCESSES=1", () => {
  const config = startConfig({ QUEUE: "memory", PROCESSES: "1", DATA_DIR: "/tmp/x", FSYNC: "off" });
  assert.equal(config.DATA_DIR, "/tmp/x");
  assert.equal(config.QUEUE, "memory");
  assert.equal(startConfig({}).REDIS_URL, undefined);
});

test("stampede api / worker refuse QUEUE=memory and need ADMIN_TOKEN, REDIS_URL, DATABASE_URL", () => {
  for (const role of ["api", "worker"] as const) {
    assert.throws(() => distributedConfig(role, { ...distributed, QUEUE: "memory" }), refusedAs("QUEUE"));
    for (const name of Object.keys(distributed))
      assert.throws(() => distributedConfig(role, { ...distributed, [name]: "" }), refusedAs(name), name);
  }
});

test("distributed defaults: QUEUE unset is Redis Streams; an api runs on every core, a worker in one process", () => {
  const api = distributedConfig("api", distributed);
  assert.equal(api.QUEUE, "redis");
  assert.equal(api.PROCESSES, availableParallelism());
  assert.equal(distributedConfig("worker", distributed).PROCESSES, 1);
  assert.equal(distributedConfig("api", distributed, ["--processes", "3"]).PROCESSES, 3);
  assert.equal(
    distributedConfig("api", { ...distributed, QUEUE: "kafka", KAFKA_BROKERS: "k:9092" }).QUEUE,
    "kafka",
  );
  assert.equal(requireDistributed(loadConfig(distributed)).QUEUE, "redis");
});

test("rules between settings are checked once, when the settings are read", () => {
  assert.throws(() => loadConfig({ QUEUE: "kafka" }), refusedAs("KAFKA_BROKERS"));
  assert.throws(
    () => distributedConfig("api", { ...distributed, QUEUE: "kafka" }),
    refusedAs("KAFKA_BROKERS"),
  );
  assert.throws(() => loadConfig({ REDIS_PREFIX: "shop{1}" }), refusedAs("REDIS_PREFIX"));
  assert.throws(() => loadConfig({ PROCESSES: "0" }), refusedAs("PROCESSES"));
});

test("the CLI refuses a setting of the other mode in one line, exit status 2", async () => {
  const start = await runCli(["start"], {
    REDIS_URL: "redis://127.0.0.1:6379",
    DATA_DIR: "/nonexistent-never",
  });
  assert.equal(start.status, 2, start.stderr);
  assert.equal(
    start.stderr,
    "stampede: invalid setting REDIS_URL: belongs to distributed mode (stampede api / stampede worker); stampede start would ignore it\n",
  );
  const api = await runCli(["api", "--queue", "memory"], distributed);
  assert.equal(api.status, 2, api.stderr);
  assert.equal(api.stderr.trim().split("\n").length, 1);
  assert.match(api.stderr, /^stampede: invalid setting QUEUE: QUEUE=memory is the embedded mode's/);
});
