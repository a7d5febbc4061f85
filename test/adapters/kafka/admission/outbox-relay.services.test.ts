import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
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

test("outbox with holds: the relay sends each claim's newest decision; an acknowledged admission never takes a later confirmation's entry", {
  skip,
}, async (t) => {
  const keys = new RedisKeys(testPrefix(t, "outbox-holds"));
  const ledger = new PostgresLedger({
    connectionString: DATABASE_URL,
    schema: testSchema(t, "outbox_holds"),
  });
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
    id: "h",
    name: "holds",
    stock: 10,
    perUserLimit: 1,
    startsAt: null,
    endsAt: null,
    createdAt: Date.now(),
    holdSeconds: 1,
  };
  await ledger.createCampaign(campaign);
  await admission.putCampaign(campaign);
  const admit = async (userId: string) => {
    const outcome = await admission.admit({ campaignId: "h", userId });
    assert.equal(outcome.kind, "admitted");
    return (outcome as { claim: Claim }).claim;
  };
  const confirmed = await admit("confirms");
  const expiring = await admit("waits");
  const released = await admit("lets-go");
  const outbox = new Outbox(redis, keys);
  // The confirmation is decided (and queued in the outbox) while the admission's produce is in flight.
  assert.equal((await admission.confirm(confirmed.claimId)).kind, "confirmed");
  // The admission's produce is acknowledged now: its entry must stay for the confirmation.
  await outbox.remove([confirmed]);
  assert.ok(await outbox.holds(confirmed), "the confirmation is still to be sent");
  assert.equal((await admission.release(released.claimId)).kind, "released");
  await sleep(Math.max(0, expiring.expiresAt! - Date.now()) + 100);
  assert.deepEqual(
    (await admission.reapExpired("h")).expired.map((c) => c.claimId),
    [expiring.claimId],
  );

  const sent: Claim[] = [];
  const relay = new OutboxRelay({
    outbox,
    publish: async (batch) => {
      sent.push(...batch);
    },
    logger,
    leaseMs: 0,
    intervalMs: 1000,
  });
  assert.equal(await relay.pass(), 3);
  assert.deepEqual(
    Object.fromEntries(sent.map((c) => [c.claimId, c.status])),
    { [confirmed.claimId]: "issued", [expiring.claimId]: "expired", [released.claimId]: "released" },
    "the newest state of each, whatever was sent before",
  );
  assert.equal(await redis.zcard(keys.campaign("h").outbox), 0);

  // The ledger takes them in any order (a pending snapshot after its end is behind).
  const written = await ledger.write([...sent, confirmed, expiring, released], Date.now());
  assert.deepEqual(written.conflicts, []);
  await admission.markWritten(written.written);
  assert.deepEqual(await admission.counters("h"), { admitted: 1, issued: 1, held: 0 });
  assert.deepEqual(await redis.hlen(keys.campaign("h").claims), 0, "final in the ledger: gone from Redis");
});
