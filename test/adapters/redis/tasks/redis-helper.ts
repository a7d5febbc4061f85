import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";

/**
 * The shared Redis for tests (REDIS_URL, default 127.0.0.1:6379). Each test
 * works under a prefix of its own, deleted when the test ends. Without Redis
 * the tests are skipped with a printed reason, except when CI=true, where
 * they fail.
 */
export const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

export async function connectRedis(): Promise<{ redis: Redis | undefined; skip: string | false }> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 2000 });
  redis.on("error", () => undefined);
  try {
    await redis.connect();
    await redis.ping();
    return { redis, skip: false };
  } catch (error) {
    redis.disconnect();
    if (process.env.CI === "true")
      throw new Error(`Redis at ${REDIS_URL} is required when CI=true: ${(error as Error).message}`);
    const skip = `no Redis at ${REDIS_URL} (set REDIS_URL; required when CI=true)`;
    console.log(`# skipped: ${skip}`);
    return { redis: undefined, skip };
  }
}

/** Every key under a prefix (SCAN, not KEYS: the Redis is shared). */
export async function keysUnder(redis: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, batch] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== "0");
  return keys;
}

/** A fresh prefix whose keys are deleted when the test ends. */
export function testPrefix(redis: Redis, t: { after: (fn: () => Promise<void>) => void }): string {
  const prefix = `stampede-test-tasks-${randomUUID()}`;
  t.after(async () => {
    const keys = await keysUnder(redis, prefix);
    if (keys.length > 0) await redis.del(...keys);
  });
  return prefix;
}
