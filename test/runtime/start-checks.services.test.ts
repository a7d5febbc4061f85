import assert from "node:assert/strict";
import { test } from "node:test";
import pg from "pg";
import { checkPostgresAtStart, checkRedisAtStart } from "../../src/runtime/start-checks.ts";
import { runCli } from "../helpers/cli.ts";
import { ADMIN_TOKEN } from "../helpers/distributed.ts";
import { skipWithoutOwnPostgres, startOwnPostgres } from "../helpers/own-postgres.ts";
import { startOwnRedis } from "../helpers/own-redis.ts";
import { startServer } from "../helpers/server-process.ts";
import {
  DATABASE_URL,
  REDIS_URL,
  redisClient,
  skipWithoutServices,
  testPrefix,
  testSchema,
  uniqueName,
} from "../helpers/services.ts";

/**
 * SPEC "What a 202 survives": at start each mode checks the settings its
 * promise depends on (src/runtime/start-checks.ts), refusing in one line
 * where the promise would be false and warning where it is weaker. Real
 * services: a redis-server of the test's own per policy, PostgreSQL settings
 * per session or in a cluster of the test's own.
 */
const skip = await skipWithoutServices();

function distributedEnv(t: Parameters<typeof testPrefix>[0], redisUrl: string, databaseUrl = DATABASE_URL) {
  return {
    ADMIN_TOKEN,
    REDIS_URL: redisUrl,
    DATABASE_URL: databaseUrl,
    // A redis-server of the test's own goes away with its keys.
    REDIS_PREFIX: redisUrl === REDIS_URL ? testPrefix(t, "startcheck") : uniqueName("startcheck"),
    DATABASE_SCHEMA: testSchema(t, "startcheck", databaseUrl),
    PROCESSES: "1",
  };
}

test("maxmemory-policy allkeys-*: stampede api refuses in one line naming REDIS_URL", { skip }, async (t) => {
  const redis = await startOwnRedis(t, { maxmemoryPolicy: "allkeys-lru" });
  const run = await runCli(["api"], distributedEnv(t, redis.url));
  assert.equal(run.status, 1, run.stdout + run.stderr);
  const lines = run.stderr.trim().split("\n");
  assert.equal(lines.length, 1, run.stderr);
  assert.match(
    lines[0]!,
    /^stampede: REDIS_URL: allkeys-lru .* can evict ANY key.*\(fix: CONFIG SET maxmemory-policy noeviction/,
  );
});

test("maxmemory-policy volatile-*: stampede worker starts and warns in one line", { skip }, async (t) => {
  const redis = await startOwnRedis(t, { maxmemoryPolicy: "volatile-lru" });
  const worker = await startServer("worker", distributedEnv(t, redis.url), { timeoutMs: 60_000 });
  t.after(() => worker.stop("SIGKILL"));
  assert.match(worker.output(), /^stampede: warning: volatile-lru .* evicts keys that have a TTL.*\(fix: /m);
  assert.equal(await worker.stop("SIGTERM"), 0);
});

test("Redis eviction and persistence verdicts, as the SPEC's table says", { skip }, async (t) => {
  const safe = await startOwnRedis(t, { maxmemoryPolicy: "noeviction", appendfsync: "always" });
  const verdicts = await checkRedisAtStart(redisClient(t, safe.url), "redis");
  assert.deepEqual(
    verdicts.map((v) => [v.name, v.status]),
    [
      ["redis-eviction", "ok"],
      ["promise", "ok"],
    ],
  );
  assert.match(verdicts[1]!.message, /survives kill -9 of any stampede process and a Redis restart/);

  const volatile = await startOwnRedis(t, { persistence: false });
  const withoutAof = redisClient(t, volatile.url);
  const streams = await checkRedisAtStart(withoutAof, "redis");
  assert.equal(streams[1]!.status, "warn");
  assert.match(streams[1]!.message, /NOT a Redis restart/);
  // QUEUE=kafka does not lean on Redis's persistence: the 202 is in Kafka.
  assert.equal((await checkRedisAtStart(withoutAof, "kafka"))[1]!.status, "ok");
  const everysec = await startOwnRedis(t, { appendfsync: "everysec" });
  const lastSecond = await checkRedisAtStart(redisClient(t, everysec.url), "redis");
  assert.equal(lastSecond[1]!.status, "warn");
  assert.match(lastSecond[1]!.message, /about the last second/);
});

test("PostgreSQL synchronous_commit=off: a warning; on: ok", { skip }, async (t) => {
  const check = async (url: string) => {
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    t.after(() => pool.end());
    return checkPostgresAtStart((sql) => pool.query(sql));
  };
  const [safe] = await check(DATABASE_URL);
  assert.equal(safe!.status, "ok");
  const lazy = new URL(DATABASE_URL);
  lazy.searchParams.set("options", "-c synchronous_commit=off");
  const [weak] = await check(lazy.href);
  assert.equal(weak!.status, "warn");
  assert.match(weak!.message, /^synchronous_commit=off: a PostgreSQL crash can lose issued claims/);
});

test("PostgreSQL fsync=off: stampede worker refuses in one line naming DATABASE_URL", {
  skip: skip || (await skipWithoutOwnPostgres()),
}, async (t) => {
  const postgres = await startOwnPostgres(t, { settings: ["fsync=off"] });
  const run = await runCli(["worker"], distributedEnv(t, REDIS_URL, postgres.url));
  assert.equal(run.status, 1, run.stdout + run.stderr);
  const lines = run.stderr.trim().split("\n");
  assert.equal(lines.length, 1, run.stderr);
  assert.match(lines[0]!, /^stampede: DATABASE_URL: fsync=off: a PostgreSQL crash can corrupt the ledger/);
});
