import assert from "node:assert/strict";
import { test } from "node:test";
import { pino } from "pino";
import { Outbox } from "../../../../src/adapters/kafka/admission/outbox.ts";
import { OutboxRelay } from "../../../../src/adapters/kafka/admission/outbox-relay.ts";
import { outboxSink } from "../../../../src/adapters/kafka/admission/outbox-sink.ts";
import { PostgresLedger } from "../../../../src/adapters/postgres/postgres-ledger.ts";
import { RedisAdmission } from "../../../../src/adapters/redis/admission/redis-admission.ts";
import { RedisKeys } from "../../../../src/adapters/redis/keys.ts";
import type { Campaign, Claim } from "../../../../src/domain/types.ts";
import {
  DATABASE_URL,
  REDIS_URL,
  redisClient,
  skipWithoutServices,
  testPrefix,
  testSchema,
} from "../../../helpers/services.ts";

/**
 * The outbox against real Redis and the real admission script (sink
 * "outbox"): the reservation lands in the outbox in the same atomic step;
 * the relay takes only what is older than the lease, leases it (a second
 * relay does not take it again), sends it, and removes it once acknowledged;
 * what failed is taken again after another lease; what was issued meanwhile
 * is dropped.
 */
const skip = await skipWithoutServices();
const logger = pino({ level: "silent" });

test("outbox: reservations land in it; the relay leases, sends and removes them", { skip }, async (t) => {
  const prefix = testPrefix(t, "outbox");
  const keys = new RedisKeys(prefix);
  const ledger = new PostgresLedger({ connectionString: DATABASE_URL, schema: testSchema(t, "outbox") });
  t.after(() => ledger.close());
  await ledger.migrate();
  const redis = redisClient(t, REDIS_URL, { enableAutoPipelining: true });
  const admission = new RedisAdmission({
    redis,
    keys,
    ledger,
    logger,
    sink: outboxSink({ queue: { waitUntilConsumed: async () => undefined }, cap: 100, logger }),
  });
  t.after(() => admission.close());
  const campaign: Campaign = {
    id: "c",
    name: "outbox",
    stock: 10,
    perUserLimit: 1,
    startsAt: null,
    endsAt: null,
    createdAt: Date.now(),
  };
  await ledger.createCampaign(campaign);
  await admission.putCampaign(campaign);
  const claims: Claim[] = [];
  for (let i = 0; i < 5; i++) {
    const outcome = await admission.admit({ campaignId: "c", userId: `user-${i}` });
    assert.equal(outcome.kind, "admitted");
    claims.push((outcome as { claim: Claim }).claim);
  }
  const outbox = new Outbox(redis, keys);
  assert.equal(await redis.zcard(keys.campaign("c").outbox), 5, "each reservation is in the outbox");
  assert.equal(await redis.xlen(keys.campaign("c").stream), 0, "and not in a stream");
  assert.ok(await outbox.holds(claims[0]!));

  // Younger than the lease: left to the API process that made them.
  assert.deepEqual(await outbox.take("c", 60_000, 100), []);

  // One was acknowledged by its API process; one was issued meanwhile (a duplicate send got through).
  await outbox.remove([claims[0]!]);
  await ledger.write([claims[1]!], Date.now());
  await admission.markWritten([{ ...claims[1]!, status: "issued" }]);

  const sent: Claim[][] = [];
  let fail = true;
  const relay = new OutboxRelay({
    outbox,
    publish: async (batch) => {
      sent.push(batch);
      if (fail) throw new Error("broker down");
    },
    logger,
    leaseMs: 0,
    intervalMs: 1000,
  });
  await assert.rejects(relay.pass(), /broker down/);
  assert.deepEqual(
    sent[0]!.map((c) => c.claimId).sort(),
    claims
      .slice(2)
      .map((c) => c.claimId)
      .sort(),
    "sends the reservations nobody acknowledged, whole (coupon code included)",
  );
  assert.deepEqual(
    sent[0]!.map((c) => c.couponCode).sort(),
    claims
      .slice(2)
      .map((c) => c.couponCode)
      .sort(),
  );
  assert.equal(await redis.zcard(keys.campaign("c").outbox), 3, "the issued one left; the failed ones stay");

  // Leased to the failed pass: another relay does not take them within the lease.
  assert.deepEqual(await outbox.take("c", 60_000, 100), []);

  fail = false;
  assert.equal(await relay.pass(), 3, "taken again once the lease is over, and sent");
  assert.equal(await redis.zcard(keys.campaign("c").outbox), 0, "acknowledged: removed");
});
