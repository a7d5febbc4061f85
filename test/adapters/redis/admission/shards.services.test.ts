import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { pino } from "pino";
import { PostgresLedger } from "../../../../src/adapters/postgres/postgres-ledger.ts";
import { RedisAdmission } from "../../../../src/adapters/redis/admission/redis-admission.ts";
import { RetentionSweeper } from "../../../../src/adapters/redis/admission/retention.ts";
import { claimRef, RedisKeys, shardOfClaim, shardRef } from "../../../../src/adapters/redis/keys.ts";
import { redisScripts } from "../../../../src/adapters/redis/scripts.ts";
import { streamSink } from "../../../../src/adapters/redis/streams/claims-sink.ts";
import { shardOfUser } from "../../../../src/domain/shards.ts";
import type { Campaign, Claim } from "../../../../src/domain/types.ts";
import type { AdmitOutcome } from "../../../../src/ports/admission.ts";
import { TransferSweep } from "../../../../src/runtime/distributed/transfer-sweep.ts";
import {
  DATABASE_URL,
  REDIS_URL,
  redisClient,
  skipWithoutServices,
  testPrefix,
  testSchema,
} from "../../../helpers/services.ts";
import { eventually } from "../../../helpers/wait.ts";

/**
 * A hot campaign over shards (admission/shards.ts) against real Redis and
 * PostgreSQL: slices that run out take from the others, 410 only once every
 * shard is out, transfers a crash left half-done completed by the sweep,
 * counters exact, claims found in their shard.
 */
const skip = await skipWithoutServices();
const TIMEOUT = 60_000;

type After = { after: (fn: () => Promise<void> | void) => void };

async function world(t: After) {
  const prefix = testPrefix(t, "shd");
  const keys = new RedisKeys(prefix);
  const ledger = new PostgresLedger({ connectionString: DATABASE_URL, schema: testSchema(t, "shd") });
  t.after(() => ledger.close());
  await ledger.migrate();
  const redis = redisClient(t);
  const process = (subscribe = false) => {
    const r = redisClient(t, REDIS_URL, { enableAutoPipelining: true });
    const admission = new RedisAdmission({
      redis: r,
      keys,
      ledger,
      logger: pino({ level: "silent" }),
      sink: streamSink({ redis: r, keys, cap: 100_000 }),
      subscriber: subscribe ? redisClient(t) : undefined,
    });
    t.after(() => admission.close());
    return admission;
  };
  const create = async (
    admission: RedisAdmission,
    id: string,
    stock: number,
    shards: number,
    endsAt?: number,
  ) => {
    const campaign: Campaign = {
      id,
      name: "hot",
      stock,
      perUserLimit: 1,
      startsAt: null,
      endsAt: endsAt ?? null,
      createdAt: Date.now(),
      shards,
    };
    assert.equal(await ledger.createCampaign(campaign), true);
    assert.equal((await ledger.getCampaign(id))?.shards, shards, "the ledger keeps shards");
    await admission.putCampaign(campaign);
    return campaign;
  };
  const issue = async (admission: RedisAdmission, claims: Claim[]) => {
    const result = await ledger.write(claims, Date.now());
    assert.equal(result.conflicts.length, 0);
    await admission.markWritten(result.written);
  };
  return { keys, ledger, redis, process, create, issue };
}

const kinds = (outcomes: AdmitOutcome[]) => {
  const count: Record<string, number> = {};
  for (const o of outcomes) count[o.kind] = (count[o.kind] ?? 0) + 1;
  return count;
};
const claimsOf = (outcomes: AdmitOutcome[]) =>
  outcomes.flatMap((o) => (o.kind === "admitted" ? [o.claim] : []));

test("over 8 shards: no 410 while any shard has stock, exactly the stock admitted, counters summed", {
  skip,
  timeout: TIMEOUT,
}, async (t) => {
  const w = await world(t);
  const admission = w.process();
  await w.create(admission, "hot", 50, 8);
  const users = (from: number, n: number) => Array.from({ length: n }, (_, i) => `user-${from + i}`);
  // 40 at once for 50 units: each shard's slice (6 or 7) runs out under some users, so any 410
  // here is a sale lost while another shard still had stock.
  const first = await Promise.all(
    users(0, 40).map((userId) => admission.admit({ campaignId: "hot", userId })),
  );
  assert.deepEqual(kinds(first), { admitted: 40 });
  const second = await Promise.all(
    users(40, 40).map((userId) => admission.admit({ campaignId: "hot", userId })),
  );
  assert.deepEqual(kinds(second), { admitted: 10, sold_out: 30 });
  const claims = [...claimsOf(first), ...claimsOf(second)];
  assert.deepEqual(
    claims.map((c) => c.unit).sort((a, b) => a - b),
    Array.from({ length: 50 }, (_, i) => i + 1),
    "every unit once",
  );
  // Each claim is in its user's shard, named by its id, and readable from there.
  for (const c of claims) assert.equal(shardOfClaim("hot", c.claimId), shardOfUser(c.userId, 8));
  assert.ok(new Set(claims.map((c) => claimRef("hot", c.claimId))).size > 4, "claims in many shards");
  const some = claims.find((c) => shardOfClaim("hot", c.claimId) > 0)!;
  assert.equal((await admission.getClaim(some.claimId))?.userId, some.userId);
  assert.equal((await admission.userClaims("hot", some.userId))[0]?.claimId, some.claimId);
  assert.deepEqual(await admission.counters("hot"), { admitted: 50, issued: 0, held: 0 });
  // A holder is still a 409 after the sell-out, from its own shard.
  assert.equal((await admission.admit({ campaignId: "hot", userId: some.userId })).kind, "already_claimed");

  await w.issue(
    admission,
    claims.map((c) => ({ ...c, status: "issued" as const, issuedAt: Date.now() })),
  );
  assert.deepEqual(await admission.counters("hot"), { admitted: 50, issued: 50, held: 0 });
  assert.equal(await w.ledger.issuedCount("hot"), 50);
  assert.equal((await admission.getCampaign("hot"))?.stock, 50, "the campaign's stock, not a slice");
});

test("sold out everywhere is answered from memory by API processes, per shard", {
  skip,
  timeout: TIMEOUT,
}, async (t) => {
  const w = await world(t);
  const admission = w.process(true);
  await admission.subscribed();
  await w.create(admission, "mem", 4, 4);
  const outcomes: AdmitOutcome[] = [];
  for (let i = 0; i < 12; i++) outcomes.push(await admission.admit({ campaignId: "mem", userId: `u${i}` }));
  assert.deepEqual(kinds(outcomes), { admitted: 4, sold_out: 8 });
  // Each shard was marked sold out (shard-sold-out-1.lua) and said so on the events channel.
  for (let s = 0; s < 4; s++)
    assert.equal(await w.redis.hget(w.keys.campaign(shardRef("mem", s)).state, "soldOut"), "1");
  await eventually(async () => {
    for (let i = 100; i < 120; i++)
      assert.equal(admission.known({ campaignId: "mem", userId: `u${i}` })?.kind, "sold_out");
    return true;
  });
  // A holder is never answered 410 from memory.
  const holder = claimsOf(outcomes)[0]!;
  assert.notEqual(admission.known({ campaignId: "mem", userId: holder.userId })?.kind, "sold_out");
});

test("a crash between give and take: the units are in transit, never sold out, and the sweep lands them once", {
  skip,
  timeout: TIMEOUT,
}, async (t) => {
  const w = await world(t);
  const admission = w.process();
  await w.create(admission, "crash", 10, 2);
  const scripts = redisScripts(w.redis);
  const donor = w.keys.campaign(shardRef("crash", 1));
  // A giver that dies right after the donor script: 3 units leave shard 1, nobody takes them.
  const given = (await scripts.shardGive(
    [donor.state, donor.free, donor.transfers],
    ["t-crash", 0, 3, Date.now() - 10_000],
  )) as (string | number)[];
  assert.equal(given[0], 3);
  assert.equal(await w.redis.hlen(donor.transfers), 1);
  // In transit: neither admitted nor lost: remaining still counts them.
  assert.deepEqual(await admission.counters("crash"), { admitted: 0, issued: 0, held: 0 });

  // The workers' sweep lands them.
  let landed = 0;
  const sweep = new TransferSweep({
    settle: async () => {
      const n = await admission.settleTransfers();
      landed += n;
      return n;
    },
    intervalMs: 50,
    logger: pino({ level: "silent" }),
  });
  sweep.start();
  t.after(() => sweep.stop());
  await eventually(async () => (await w.redis.hlen(donor.transfers)) === 0, 5000, "the sweep applied it");
  await sweep.stop();
  assert.equal(landed, 3);
  assert.equal(await admission.settleTransfers(), 0, "nothing left to land");
  // Applying the same transfer again (a sweep racing the giver) changes nothing.
  const receiver = w.keys.campaign(shardRef("crash", 0));
  const again = (await scripts.shardTake(
    [receiver.state, receiver.free, receiver.received],
    ["t-crash", String(given[1]), ...given.slice(2)],
  )) as number[];
  assert.equal(again[0], 2);

  const outcomes: AdmitOutcome[] = [];
  for (let i = 0; i < 16; i++) outcomes.push(await admission.admit({ campaignId: "crash", userId: `u${i}` }));
  assert.deepEqual(kinds(outcomes), { admitted: 10, sold_out: 6 });
  assert.deepEqual(
    claimsOf(outcomes)
      .map((c) => c.unit)
      .sort((a, b) => a - b),
    Array.from({ length: 10 }, (_, i) => i + 1),
  );
  assert.deepEqual(await admission.counters("crash"), { admitted: 10, issued: 0, held: 0 });
});

test("a transfer left in transit holds the 410 back until it lands", {
  skip,
  timeout: TIMEOUT,
}, async (t) => {
  const w = await world(t);
  const admission = w.process();
  await w.create(admission, "transit", 2, 2);
  const scripts = redisScripts(w.redis);
  // Shard 0's only unit goes into a fresh record (not yet the sweep's: a giver still working).
  const donor = w.keys.campaign(shardRef("transit", 0));
  const given = (await scripts.shardGive(
    [donor.state, donor.free, donor.transfers],
    ["t-live", 1, 5, Date.now()],
  )) as (string | number)[];
  assert.equal(given[0], 1);
  const users = ["a", "b", "c", "d", "e", "f", "g", "h"];
  const outcomes = await Promise.all(
    users.map((userId) => admission.admit({ campaignId: "transit", userId })),
  );
  // The claims that waited on the record got its unit once a refill settled it (SETTLE_AFTER_MS).
  assert.deepEqual(kinds(outcomes), { admitted: 2, sold_out: 6 });
  assert.equal(await w.redis.hlen(donor.transfers), 0);
});

test("a campaign over shards is rebuilt whole when one shard's state is lost", {
  skip,
  timeout: TIMEOUT,
}, async (t) => {
  const w = await world(t);
  const admission = w.process();
  await w.create(admission, "lost", 12, 3);
  const first = await Promise.all(
    Array.from({ length: 6 }, (_, i) => admission.admit({ campaignId: "lost", userId: `u${i}` })),
  );
  assert.deepEqual(kinds(first), { admitted: 6 });
  await w.issue(
    admission,
    claimsOf(first).map((c) => ({ ...c, status: "issued" as const, issuedAt: Date.now() })),
  );
  // One Redis Cluster node lost: shard 2's state is gone, the others stay.
  await w.redis.del(w.keys.campaign(shardRef("lost", 2)).state);
  assert.equal(await admission.ensure("lost"), "ready");
  const rest = await Promise.all(
    Array.from({ length: 10 }, (_, i) => admission.admit({ campaignId: "lost", userId: `v${i}` })),
  );
  assert.deepEqual(kinds(rest), { admitted: 6, sold_out: 4 });
  const units = [...claimsOf(first), ...claimsOf(rest)].map((c) => c.unit).sort((a, b) => a - b);
  assert.deepEqual(
    units,
    Array.from({ length: 12 }, (_, i) => i + 1),
    "no unit handed out twice",
  );
});

test("retention: a campaign over shards expires shard by shard and is retired once every shard is gone", {
  skip,
  timeout: TIMEOUT,
}, async (t) => {
  const w = await world(t);
  const admission = w.process();
  const graceMs = 1000;
  const sweeper = new RetentionSweeper({
    redis: w.redis,
    keys: w.keys,
    ledger: w.ledger,
    logger: pino({ level: "silent" }),
    graceMs,
    intervalMs: 60_000,
  });
  const endsAt = Date.now() + 800;
  await w.create(admission, "old", 6, 3, endsAt);
  const outcomes = await Promise.all(
    ["a", "b", "c", "d"].map((userId) => admission.admit({ campaignId: "old", userId })),
  );
  assert.deepEqual(kinds(outcomes), { admitted: 4 });
  const refs = [0, 1, 2].map((s) => shardRef("old", s));
  for (const ref of refs.slice(1)) assert.equal(await w.redis.sismember(w.keys.registry, ref), 1, ref);
  await sleep(endsAt - Date.now() + 50);
  assert.deepEqual((await sweeper.sweep()).expiring, [], "ended, not drained: nothing expires yet");
  await w.issue(
    admission,
    claimsOf(outcomes).map((c) => ({ ...c, status: "issued" as const, issuedAt: Date.now() })),
  );
  assert.deepEqual((await sweeper.sweep()).expiring, ["old"]);
  for (const ref of refs) assert.ok((await w.redis.pttl(w.keys.campaign(ref).state)) > 0, `${ref} expires`);
  await eventually(
    async () =>
      (await Promise.all(refs.map((ref) => w.redis.exists(w.keys.campaign(ref).state)))).every(
        (n) => n === 0,
      ),
    10_000,
  );
  assert.deepEqual((await sweeper.sweep(Date.now() + graceMs)).retired, ["old"]);
  for (const ref of refs.slice(1)) assert.equal(await w.redis.sismember(w.keys.registry, ref), 0, ref);
  assert.equal(await w.redis.sismember(w.keys.shardedRegistry, "old"), 0);
  assert.deepEqual(await admission.counters("old"), { admitted: 4, issued: 4, held: 0 }, "from the ledger");
});

test("lifecycle and erasure over shards: a pause reaches every shard, the stock is fixed, a user is forgotten in their shard", {
  skip,
  timeout: TIMEOUT,
}, async (t) => {
  const w = await world(t);
  const admission = w.process();
  await w.create(admission, "life", 20, 4);
  const held = await admission.admit({ campaignId: "life", userId: "keeper" });
  assert.equal(held.kind, "admitted");
  const paused = await admission.changeCampaign("life", { status: "paused" });
  assert.equal(paused.kind, "changed");
  assert.equal(paused.kind === "changed" && paused.admitted, 1, "admitted summed over the shards");
  assert.equal(paused.kind === "changed" && paused.campaign.stock, 20, "the campaign's stock");
  for (let i = 0; i < 12; i++) {
    const o = await admission.admit({ campaignId: "life", userId: `p${i}` });
    assert.deepEqual(o, { kind: "not_active", reason: "paused", replayed: false }, `p${i}`);
  }
  assert.equal((await admission.changeCampaign("life", { status: "open" })).kind, "changed");
  await assert.rejects(admission.changeCampaign("life", { stock: 30 }), /cannot be changed/);

  const claim = (held as { claim: Claim }).claim;
  await w.issue(admission, [{ ...claim, status: "issued", issuedAt: Date.now() }]);
  await w.ledger.lifecycle.eraseUser("life", "keeper", undefined);
  const forgot = await admission.forgetUser("life", "keeper");
  assert.deepEqual(forgot, { kind: "forgotten", claims: 1 });
  const shard = w.keys.campaign(claimRef("life", claim.claimId));
  assert.equal(await w.redis.hexists(shard.holders, "keeper"), 0, "gone from the user's shard");
});
