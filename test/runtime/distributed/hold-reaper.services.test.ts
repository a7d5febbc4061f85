import assert from "node:assert/strict";
import { test } from "node:test";
import { pino } from "pino";
import { PostgresLedger } from "../../../src/adapters/postgres/postgres-ledger.ts";
import { RedisAdmission } from "../../../src/adapters/redis/admission/redis-admission.ts";
import { RedisKeys } from "../../../src/adapters/redis/keys.ts";
import { streamSink } from "../../../src/adapters/redis/streams/claims-sink.ts";
import type { Campaign, Claim } from "../../../src/domain/types.ts";
import { HoldReaper } from "../../../src/runtime/distributed/hold-reaper.ts";
import {
  DATABASE_URL,
  REDIS_URL,
  redisClient,
  skipWithoutServices,
  testPrefix,
  testSchema,
} from "../../helpers/services.ts";
import { eventually } from "../../helpers/wait.ts";

/**
 * The workers' hold reaper on real Redis: every campaign with holds, from
 * stored times, with no claims coming; several reapers at once expire each
 * hold once.
 */
const skip = await skipWithoutServices();
const logger = pino({ level: "silent" });

test("reapers in two workers expire every due hold of every campaign with holds, each once, within an interval", {
  skip,
}, async (t) => {
  const keys = new RedisKeys(testPrefix(t, "reaper"));
  const ledger = new PostgresLedger({ connectionString: DATABASE_URL, schema: testSchema(t, "reaper") });
  t.after(() => ledger.close());
  await ledger.migrate();
  const open = () => {
    const redis = redisClient(t, REDIS_URL, { enableAutoPipelining: true });
    const admission = new RedisAdmission({
      redis,
      keys,
      ledger,
      logger,
      sink: streamSink({ redis, keys, cap: 1000 }),
    });
    t.after(() => admission.close());
    return admission;
  };
  const api = open();
  const campaign = (id: string, holdSeconds: number | null): Campaign => ({
    id,
    name: id,
    stock: 50,
    perUserLimit: 1,
    startsAt: null,
    endsAt: null,
    createdAt: Date.now(),
    holdSeconds,
  });
  for (const c of [campaign("a", 1), campaign("b", 1), campaign("plain", null)]) {
    await ledger.createCampaign(c);
    await api.putCampaign(c);
  }
  assert.deepEqual((await api.holdCampaigns()).sort(), ["a", "b"]);
  const holds: Claim[] = [];
  for (const id of ["a", "b"])
    for (let i = 0; i < 20; i++) {
      const o = await api.admit({ campaignId: id, userId: `u${i}` });
      assert.equal(o.kind, "admitted");
      holds.push((o as { claim: Claim }).claim);
    }
  const expired: Claim[] = [];
  const reapers = [open(), open()].map(
    (store) =>
      new HoldReaper({
        campaigns: () => store.holdCampaigns(),
        reap: async (id) => {
          const result = await store.reapExpired(id);
          expired.push(...result.expired);
          return result;
        },
        intervalMs: 100,
        logger,
      }),
  );
  for (const r of reapers) r.start();
  t.after(() => Promise.all(reapers.map((r) => r.stop())));
  const due = Math.max(...holds.map((c) => c.expiresAt!));
  await eventually(() => expired.length === holds.length, 5000, "every hold expired");
  const lateness = Math.max(...expired.map((c) => c.endedAt! - c.expiresAt!));
  assert.ok(lateness < 400, `expired within an interval or so of expiresAt (${lateness} ms late)`);
  assert.ok(Date.now() >= due);
  assert.equal(new Set(expired.map((c) => c.claimId)).size, holds.length, "each once");
  assert.deepEqual(await api.counters("a"), { admitted: 0, issued: 0, held: 0 });
  assert.deepEqual(await api.counters("b"), { admitted: 0, issued: 0, held: 0 });
});
