/** The dependency deadlines' settings: defaults derived from REQUEST_TIMEOUT_MS, each overridable. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { helpText } from "../../src/cli/help.ts";
import { loadConfig } from "../../src/config/config.ts";

const deadlines = (env: NodeJS.ProcessEnv) => {
  const c = loadConfig(env);
  return {
    redisCommand: c.REDIS_COMMAND_TIMEOUT_MS,
    redisConnect: c.REDIS_CONNECT_TIMEOUT_MS,
    pgConnect: c.PG_CONNECT_TIMEOUT_MS,
    pgStatement: c.PG_STATEMENT_TIMEOUT_MS,
    pgQuery: c.PG_QUERY_TIMEOUT_MS,
    pgIdleInTransaction: c.PG_IDLE_IN_TRANSACTION_TIMEOUT_MS,
    kafkaRequest: c.KAFKA_REQUEST_TIMEOUT_MS,
    kafkaConnect: c.KAFKA_CONNECT_TIMEOUT_MS,
    readiness: c.READINESS_TIMEOUT_MS,
  };
};

test("with no configuration, the table's defaults are the derived values", () => {
  assert.deepEqual(deadlines({}), {
    redisCommand: 2500,
    redisConnect: 5000,
    pgConnect: 2500,
    pgStatement: 5000,
    pgQuery: 5500,
    pgIdleInTransaction: 10_000,
    kafkaRequest: 3000,
    kafkaConnect: 3000,
    readiness: 2500,
  });
});

test("they follow REQUEST_TIMEOUT_MS; the statement timeout keeps a floor for the worker's batch", () => {
  assert.deepEqual(deadlines({ REQUEST_TIMEOUT_MS: "1000" }), {
    redisCommand: 500,
    redisConnect: 1000,
    pgConnect: 500,
    pgStatement: 1000,
    pgQuery: 1500,
    pgIdleInTransaction: 2000,
    kafkaRequest: 3000,
    kafkaConnect: 3000,
    readiness: 500,
  });
  assert.equal(loadConfig({ REQUEST_TIMEOUT_MS: "200" }).PG_STATEMENT_TIMEOUT_MS, 1000);
});

test("a setting given wins over its derived default, and the ones derived from it follow", () => {
  const c = loadConfig({ REQUEST_TIMEOUT_MS: "1000", PG_STATEMENT_TIMEOUT_MS: "8000" }, [
    "--redis-command-timeout-ms",
    "50",
  ]);
  assert.equal(c.REDIS_COMMAND_TIMEOUT_MS, 50);
  assert.equal(c.PG_STATEMENT_TIMEOUT_MS, 8000);
  assert.equal(c.PG_QUERY_TIMEOUT_MS, 8500);
  assert.equal(c.PG_IDLE_IN_TRANSACTION_TIMEOUT_MS, 16_000);
  assert.equal(c.REDIS_CONNECT_TIMEOUT_MS, 1000);
});

test("--help names what each default is derived from", () => {
  const help = helpText();
  assert.match(help, /REDIS_COMMAND_TIMEOUT_MS .*\[default: REQUEST_TIMEOUT_MS \/ 2\]/);
  assert.match(help, /PG_QUERY_TIMEOUT_MS .*\[default: PG_STATEMENT_TIMEOUT_MS \+ 500\]/);
});
