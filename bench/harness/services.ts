/**
 * The shared services of the distributed modes (Redis, PostgreSQL, the Kafka
 * broker): where they are, and the removal of one run's state from them (its
 * Redis key prefix, its PostgreSQL schema, its topics and consumer groups).
 * Other runs and other engineers use the same services: never anything wider
 * than this run's names (no FLUSHALL, no KEYS).
 */
import { Admin } from "@platformatic/kafka";
import { Redis } from "ioredis";
import pg from "pg";
import { pino } from "pino";
import { redisConnection } from "../../src/adapters/redis/connection.ts";
import { masterNodes } from "../../src/adapters/redis/nodes.ts";

export const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
export const DATABASE_URL = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
/** Default: the single-node broker of scripts/kafka.sh. */
export const KAFKA_BROKERS = process.env.KAFKA_BROKERS ?? "127.0.0.1:19092";

/** A Redis client that fails at once when Redis is not there (a measurement or a cleanup, not a server). */
export function redisClient(): Redis {
  return new Redis(REDIS_URL, { maxRetriesPerRequest: 1, retryStrategy: () => null });
}

/** Every key under `prefix`, by SCAN. */
export async function* keysUnder(redis: Redis, prefix: string): AsyncIterable<string> {
  for await (const batch of redis.scanStream({ match: `${prefix}*`, count: 1000 })) yield* batch as string[];
}

export interface RunState {
  redisPrefix: string;
  schema: string;
  /** Kafka mode: the claims topic and group; the tasks' are named after it. */
  kafkaTopic?: string | undefined;
}

/**
 * Removes every key under `prefix`, on one Redis or on every master of a
 * Redis Cluster (REDIS_URL=redis+cluster://..., e.g. a --shards comparison):
 * one UNLINK per key, since a cluster node refuses a multi-key command over
 * several slots.
 */
async function removeRedisKeys(prefix: string): Promise<void> {
  const redis = redisConnection({
    url: REDIS_URL,
    name: "stampede-bench-cleanup",
    use: "commands",
    logger: pino({ level: "silent" }),
    commandTimeoutMs: 10_000,
    connectTimeoutMs: 3000,
  });
  try {
    await redis.connect();
    for (const node of masterNodes(redis))
      for await (const batch of node.scanStream({ match: `${prefix}*`, count: 1000 })) {
        const keys = batch as string[];
        if (keys.length === 0) continue;
        const pipeline = node.pipeline();
        for (const key of keys) pipeline.unlink(key);
        await pipeline.exec();
      }
  } finally {
    redis.disconnect();
  }
}

/** Removes this run's Redis keys, PostgreSQL schema and Kafka topics; says what it could not remove. */
export async function removeRunState(run: RunState): Promise<void> {
  const warn = (what: string, error: unknown) =>
    process.stderr.write(`bench: could not remove ${what}: ${(error as Error).message}\n`);
  try {
    await removeRedisKeys(run.redisPrefix);
  } catch (error) {
    warn(`Redis prefix ${run.redisPrefix}`, error);
  }
  const client = new pg.Client({ connectionString: DATABASE_URL });
  try {
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${run.schema.replaceAll('"', '""')}" CASCADE`);
  } catch (error) {
    warn(`schema ${run.schema}`, error);
  } finally {
    await client.end().catch(() => undefined);
  }
  if (!run.kafkaTopic) return;
  const admin = new Admin({ clientId: "stampede-bench", bootstrapBrokers: KAFKA_BROKERS.split(",") });
  const names = [run.kafkaTopic, `${run.kafkaTopic}.tasks`];
  try {
    await admin.deleteGroups({ groups: names }).catch(() => undefined);
    await admin.deleteTopics({ topics: names });
  } catch (error) {
    warn(`topic ${run.kafkaTopic}`, error);
  } finally {
    await admin.close().catch(() => undefined);
  }
}
