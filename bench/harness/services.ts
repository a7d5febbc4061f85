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

/** Removes this run's Redis keys, PostgreSQL schema and Kafka topics; says what it could not remove. */
export async function removeRunState(run: RunState): Promise<void> {
  const warn = (what: string, error: unknown) =>
    process.stderr.write(`bench: could not remove ${what}: ${(error as Error).message}\n`);
  const redis = redisClient();
  try {
    let batch: string[] = [];
    for await (const key of keysUnder(redis, run.redisPrefix)) {
      batch.push(key);
      if (batch.length < 500) continue;
      await redis.unlink(...batch);
      batch = [];
    }
    if (batch.length) await redis.unlink(...batch);
  } catch (error) {
    warn(`Redis prefix ${run.redisPrefix}`, error);
  } finally {
    redis.disconnect();
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
