import assert from "node:assert/strict";
import type { TestContext } from "node:test";
import type { Redis } from "ioredis";
import { pino } from "pino";
import { PostgresLedger } from "../../src/adapters/postgres/postgres-ledger.ts";
import { RedisAdmission } from "../../src/adapters/redis/admission/redis-admission.ts";
import type { AdmissionSink } from "../../src/adapters/redis/admission/sink.ts";
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
  sinkOf: (redis: Redis, keys: RedisKeys) => AdmissionSink,
  wrap: (inner: RedisAdmission, redis: Redis, keys: RedisKeys) => AdmissionStore = (inner) => inner,
  options: HarnessOptions = {},
): Promise<AdmissionHarness> {
  const keys = new RedisKeys(testPrefix(t, "contract"));
  const ledger = new PostgresLedger({ connectionString: DATABASE_URL, schema: testSchema(t, "contract") });
  t.after(() => ledger.close());
  await ledger.migrate();
  const redis = redisClient(t, REDIS_URL, { enableAutoPipelining: true });
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
