import assert from "node:assert/strict";
import type { TestContext } from "node:test";
import { pino } from "pino";
import { PostgresLedger } from "../../src/adapters/postgres/postgres-ledger.ts";
import { RedisAdmission } from "../../src/adapters/redis/admission/redis-admission.ts";
import type { AdmissionSink } from "../../src/adapters/redis/admission/sink.ts";
import { type RedisClient, redisConnection } from "../../src/adapters/redis/connection.ts";
import { RedisKeys } from "../../src/adapters/redis/keys.ts";
import type { AdmissionStore } from "../../src/ports/admission.ts";
import { DATABASE_URL, REDIS_URL, redisClient, testPrefix, testSchema } from "../helpers/services.ts";
import type { AdmissionHarness, HarnessOptions } from "./admission.ts";

export const logger = pino({ level: "silent" });

/**
 * A RedisAdmission on the shared Redis (a key prefix of the test's own) and
 * PostgreSQL (a schema of its own), with the sink `sinkOf` gives; `wrap`
 * puts a store in front of it (Kafka mode's KafkaAdmission).
 */
export async function redisHarness(
  t: TestContext,
  sinkOf: (redis: RedisClient, keys: RedisKeys) => AdmissionSink,
  wrap: (inner: RedisAdmission, redis: RedisClient, keys: RedisKeys) => AdmissionStore = (inner) => inner,
  /** `url`: another Redis (a cluster's redis+cluster:// URL), connected as stampede connects. */
  options: HarnessOptions & { url?: string } = {},
): Promise<AdmissionHarness> {
  const { url } = options;
  const keys = new RedisKeys(testPrefix(t, "contract", url));
  const ledger = new PostgresLedger({ connectionString: DATABASE_URL, schema: testSchema(t, "contract") });
  t.after(() => ledger.close());
  await ledger.migrate();
  const redis =
    url === undefined ? redisClient(t, REDIS_URL, { enableAutoPipelining: true }) : await connected(t, url);
  const inner = new RedisAdmission({
    redis,
    keys,
    ledger,
    logger,
    sink: sinkOf(redis, keys),
    rateLimit: options.rateLimit,
  });
  const store = wrap(inner, redis, keys);
  t.after(() => store.close());
  return {
    store,
    async create(campaign) {
      assert.equal(await ledger.createCampaign(campaign), true);
      await store.putCampaign(campaign);
    },
    async issue(claims) {
      const result = await ledger.write(claims, Date.now());
      assert.equal(result.conflicts.length, 0);
      await store.markWritten(result.written);
    },
    async write(snapshots) {
      const result = await ledger.write(snapshots, Date.now());
      assert.deepEqual(result.conflicts, []);
      await store.markWritten(result.written);
    },
  };
}

/** A commands connection as distributed mode opens it (adapters/redis/connection.ts), closed when the test ends. */
export async function connected(t: TestContext, url: string): Promise<RedisClient> {
  const redis = redisConnection({
    url,
    name: "stampede-test-commands",
    use: "commands",
    logger,
    commandTimeoutMs: 5000,
    connectTimeoutMs: 5000,
  });
  t.after(() => redis.disconnect());
  await redis.connect();
  return redis;
}
