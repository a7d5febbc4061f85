import { randomBytes } from "node:crypto";
import { after } from "node:test";
import { Cluster, Redis, type RedisOptions } from "ioredis";
import pg from "pg";
import { parseRedisUrl } from "../../src/adapters/redis/url.ts";

/**
 * The shared Redis and PostgreSQL the services and e2e tiers use
 * (scripts/services.sh starts them; TEST_REDIS_URL and TEST_DATABASE_URL name
 * others), and per-test isolation: every test gets its own Redis key prefix
 * and its own PostgreSQL schema, removed when it ends. Nothing here flushes
 * the shared Redis or touches another test's data.
 *
 * Every test that needs Redis, PostgreSQL or Kafka takes its `skip` option
 * from a skipWithout* function (Kafka's is in kafka.ts, a PostgreSQL of the
 * test's own in own-postgres.ts); all of them decide through skipOrFail().
 */
export const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
export const DATABASE_URL = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

type After = { after: (fn: () => Promise<void> | void) => void };

/**
 * What a test does when something it needs is missing: under CI=true it
 * fails (CI must never pass by skipping), elsewhere it is skipped and the
 * reason is printed. Returns the `skip` option: the reason, or false.
 */
export function skipOrFail(missing: string | undefined): string | false {
  if (!missing) return false;
  if (process.env.CI === "true") throw new Error(`CI=true and a service is missing: ${missing}`);
  process.stderr.write(`skipping: ${missing}\n`);
  return missing;
}

let redisProbe: Promise<string | undefined> | undefined;
let postgresProbe: Promise<string | undefined> | undefined;

/** Why the shared Redis cannot be used, or undefined when it answers. */
function redisMissing(): Promise<string | undefined> {
  redisProbe ??= (async () => {
    const redis = new Redis(REDIS_URL, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      connectTimeout: 3000,
    });
    redis.on("error", () => undefined);
    try {
      await redis.connect();
      await redis.ping();
      return undefined;
    } catch (error) {
      return `Redis at ${REDIS_URL} does not answer (${(error as Error).message}); run scripts/services.sh`;
    } finally {
      redis.disconnect();
    }
  })();
  return redisProbe;
}

/** Why the shared PostgreSQL cannot be used, or undefined when it answers. */
function postgresMissing(): Promise<string | undefined> {
  postgresProbe ??= (async () => {
    const client = new pg.Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 3000 });
    client.on("error", () => undefined);
    try {
      await client.connect();
      await client.query("SELECT 1");
      return undefined;
    } catch (error) {
      return `PostgreSQL at ${DATABASE_URL} does not answer (${(error as Error).message}); run scripts/services.sh`;
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  return postgresProbe;
}

/** The `skip` option for tests that need the shared Redis only. */
export async function skipWithoutRedis(): Promise<string | false> {
  return skipOrFail(await redisMissing());
}

/** The `skip` option for tests that need the shared PostgreSQL only. */
export async function skipWithoutPostgres(): Promise<string | false> {
  return skipOrFail(await postgresMissing());
}

/** The `skip` option for tests that need both Redis and PostgreSQL (distributed mode). */
export async function skipWithoutServices(): Promise<string | false> {
  return skipOrFail((await redisMissing()) ?? (await postgresMissing()));
}

export const uniqueName = (label: string) => `t_${label}_${randomBytes(5).toString("hex")}`;

/** A Redis client (RESP2, like stampede's) closed when the test ends. */
export function redisClient(t: After, url = REDIS_URL, options: RedisOptions = {}): Redis {
  const redis = new Redis(url, { protocol: 2, ...options });
  // Connection errors show up on the commands; tests that restart Redis expect them.
  redis.on("error", () => undefined);
  t.after(() => {
    redis.disconnect();
  });
  return redis;
}

/**
 * One Redis client for a whole test file (RESP2, like stampede's), for tests
 * that share a connection; it connects on first use, so a skipped file never
 * does, and it is closed once the file's tests ended.
 */
export function fileRedisClient(): Redis {
  const redis = new Redis(REDIS_URL, { protocol: 2, lazyConnect: true, maxRetriesPerRequest: 1 });
  redis.on("error", () => undefined);
  after(() => {
    redis.disconnect();
  });
  return redis;
}

/** A fresh key prefix; every key under it is deleted when the test ends. */
export function testPrefix(t: After, label = "redis", url = REDIS_URL): string {
  const prefix = uniqueName(label);
  t.after(async () => {
    await deleteKeys(url, `${prefix}:*`).catch(() => undefined);
  });
  return prefix;
}

/** Every key matching a pattern (SCAN, not KEYS: the Redis is shared). */
export async function scanKeys(redis: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, batch] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== "0");
  return keys;
}

export async function deleteKeys(url: string, pattern: string): Promise<number> {
  const target = parseRedisUrl(url);
  if (target.kind === "cluster") return deleteClusterKeys(target.nodes, pattern);
  // A test may have stopped this Redis already (its own redis-server): the cleanup then fails quietly.
  const redis = new Redis(url, { protocol: 2, maxRetriesPerRequest: 1, retryStrategy: () => null });
  redis.on("error", () => undefined);
  try {
    return await deleteNodeKeys(redis, pattern);
  } finally {
    redis.disconnect();
  }
}

/** Every master of a cluster, one key per UNLINK (keys of several slots). Gives up at once on a stopped cluster. */
async function deleteClusterKeys(nodes: { host: string; port: number }[], pattern: string): Promise<number> {
  const cluster = new Cluster(nodes, {
    lazyConnect: true,
    clusterRetryStrategy: () => null,
    redisOptions: { protocol: 2, maxRetriesPerRequest: 1, connectTimeout: 1000 },
  });
  cluster.on("error", () => undefined);
  try {
    await cluster.connect();
    const counts = await Promise.all(
      cluster.nodes("master").map((node) => deleteNodeKeys(node, pattern, true)),
    );
    return counts.reduce((a, b) => a + b, 0);
  } finally {
    cluster.disconnect();
  }
}

async function deleteNodeKeys(redis: Redis, pattern: string, oneByOne = false): Promise<number> {
  let deleted = 0;
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 1000);
    cursor = next;
    if (keys.length === 0) continue;
    if (oneByOne)
      deleted += (await Promise.all(keys.map((key) => redis.unlink(key)))).reduce((a, b) => a + b, 0);
    else deleted += await redis.unlink(...keys);
  } while (cursor !== "0");
  return deleted;
}

/** A fresh PostgreSQL schema name; the schema is dropped when the test ends. */
export function testSchema(t: After, label = "pg", url = DATABASE_URL): string {
  const schema = uniqueName(label);
  t.after(async () => {
    // Never throws: a failing cleanup must not keep the other cleanups (killing processes) from running.
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS "${schema.replaceAll('"', '""')}" CASCADE`);
    } catch {
      // the database itself is gone (a test's own database), or unreachable
    } finally {
      await client.end().catch(() => undefined);
    }
  });
  return schema;
}

/** Runs one query against a database (test setup and checks). */
export async function sql<R extends pg.QueryResultRow = Record<string, unknown>>(
  text: string,
  values: unknown[] = [],
  url = DATABASE_URL,
): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}

/**
 * A PostgreSQL database of the test's own on the shared server, which the test
 * can make unavailable (new connections refused, open ones terminated) and
 * available again; dropped when the test ends.
 */
export interface OwnDatabase {
  url: string;
  block(): Promise<void>;
  unblock(): Promise<void>;
}

export async function ownDatabase(t: After, label = "db"): Promise<OwnDatabase> {
  const name = uniqueName(label);
  await sql(`CREATE DATABASE "${name}"`);
  const url = new URL(DATABASE_URL);
  url.pathname = `/${name}`;
  const terminate = () =>
    sql(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
      [name],
    );
  t.after(async () => {
    try {
      await sql(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS true`);
      await terminate();
      await sql(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    } catch (error) {
      process.stderr.write(`could not drop test database ${name}: ${(error as Error).message}\n`);
    }
  });
  return {
    url: url.toString(),
    async block() {
      await sql(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS false`);
      await terminate();
    },
    async unblock() {
      await sql(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS true`);
    },
  };
}
