import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { pino } from "pino";
import { PostgresLedger } from "../../../../src/adapters/postgres/postgres-ledger.ts";
import { RedisAdmission } from "../../../../src/adapters/redis/admission/redis-admission.ts";
import { unpackClaim } from "../../../../src/adapters/redis/claim-codec.ts";
import { RedisKeys } from "../../../../src/adapters/redis/keys.ts";
import { redisScripts } from "../../../../src/adapters/redis/scripts.ts";
import { streamSink } from "../../../../src/adapters/redis/streams/claims-sink.ts";
import type { Campaign, Claim } from "../../../../src/domain/types.ts";
import type { AdmitOutcome, HoldOutcome } from "../../../../src/ports/admission.ts";
import { ClaimWorker } from "../../../../src/workers/claim-worker.ts";
import {
  DATABASE_URL,
  REDIS_URL,
  redisClient,
  skipWithoutServices,
  testPrefix,
  testSchema,
} from "../../../helpers/services.ts";

/**
 * Holds in RedisAdmission (QUEUE=redis) against real Redis and PostgreSQL:
 * what API processes answer from memory for a campaign with holds, the
 * claim worker's reorder resolution, and the rebuild after a Redis loss.
 * (The port's behaviour: test/contracts/admission.ts; the scripts:
 * holds-scripts.services.test.ts.)
 */
const skip = await skipWithoutServices();
const logger = pino({ level: "silent" });
type After = { after: (fn: () => Promise<void> | void) => void };

async function world(t: After) {
  const prefix = testPrefix(t, "holds");
  const keys = new RedisKeys(prefix);
  const ledger = new PostgresLedger({ connectionString: DATABASE_URL, schema: testSchema(t, "holds") });
  t.after(() => ledger.close());
  await ledger.migrate();
  const redis = redisClient(t);
  const stores: RedisAdmission[] = [];
  t.after(async () => {
    for (const s of stores) await s.close();
  });
  const process = (options: { memory?: boolean } = {}) => {
    const r = redisClient(t, REDIS_URL, { enableAutoPipelining: true });
    const admission = new RedisAdmission({
      redis: r,
      keys,
      ledger,
      logger,
      sink: streamSink({ redis: r, keys, cap: 100_000 }),
      subscriber: options.memory ? redisClient(t) : undefined,
      soldOutCacheMaxHolders: options.memory ? 1000 : 0,
    });
    stores.push(admission);
    let calls = 0;
    const scripts = redisScripts(r);
    const original = scripts.admit;
    scripts.admit = (...args) => {
      calls++;
      return original(...args);
    };
    return { admission, admitCalls: () => calls };
  };
  const create = async (partial: Partial<Campaign> & { id: string }, admission: RedisAdmission) => {
    const campaign: Campaign = {
      name: "holds",
      stock: 2,
      perUserLimit: 1,
      startsAt: null,
      endsAt: null,
      createdAt: Date.now(),
      holdSeconds: 60,
      ...partial,
    };
    assert.equal(await ledger.createCampaign(campaign), true);
    await admission.putCampaign(campaign);
    return campaign;
  };
  /** What a worker does with a batch of snapshots. */
  const write = async (admission: RedisAdmission, snapshots: Claim[]) => {
    const result = await ledger.write(snapshots, Date.now());
    assert.deepEqual(result.conflicts, []);
    await admission.markWritten(result.written);
  };
  return { prefix, keys, ledger, redis, process, create, write };
}

const admitted = (o: AdmitOutcome): Claim => {
  assert.equal(o.kind, "admitted", JSON.stringify(o));
  return (o as { claim: Claim }).claim;
};
const held = (o: HoldOutcome): Claim => {
  assert.ok("claim" in o, JSON.stringify(o));
  return o.claim;
};

test("memory answers: a sold-out campaign with holds is asked of Redis every time, and a released unit is taken at once", {
  skip,
}, async (t) => {
  const w = await world(t);
  const api = w.process({ memory: true });
  await api.admission.subscribed();
  await w.create({ id: "h", stock: 1 }, api.admission);
  const first = admitted(await api.admission.admit({ campaignId: "h", userId: "u1" }));
  for (let i = 0; i < 5; i++) {
    assert.equal((await api.admission.admit({ campaignId: "h", userId: `late-${i}` })).kind, "sold_out");
    await sleep(50);
  }
  assert.equal(api.admission.known({ campaignId: "h", userId: "late-9" }), undefined, "no 410 from memory");
  assert.equal(api.admitCalls(), 6, "each 410 was Redis' answer");
  assert.equal((await api.admission.release(first.claimId)).kind, "released");
  const next = admitted(await api.admission.admit({ campaignId: "h", userId: "late-9" }));
  assert.equal(next.unit, first.unit, "taken at once, with no lease to wait out");

  // A campaign without holds is still answered from memory once sold out (for comparison).
  await w.create({ id: "plain", stock: 1, holdSeconds: null }, api.admission);
  admitted(await api.admission.admit({ campaignId: "plain", userId: "u1" }));
  const calls = api.admitCalls();
  for (let i = 0; i < 20 && api.admitCalls() - calls < 20; i++) {
    await api.admission.admit({ campaignId: "plain", userId: `late-${i}` });
    if (api.admission.known({ campaignId: "plain", userId: "x" })?.kind === "sold_out") break;
    await sleep(50);
  }
  assert.equal(api.admission.known({ campaignId: "plain", userId: "x" })?.kind, "sold_out");
});

test("memory answers: a holder whose hold is live is never answered 409 from memory; an issued one is", {
  skip,
}, async (t) => {
  const w = await world(t);
  const api = w.process({ memory: true });
  await api.admission.subscribed();
  await w.create({ id: "h", stock: 5 }, api.admission);
  const claim = admitted(await api.admission.admit({ campaignId: "h", userId: "u1" }));
  await w.write(api.admission, [claim]);
  assert.equal((await api.admission.admit({ campaignId: "h", userId: "u1" })).kind, "already_claimed");
  assert.equal(api.admission.known({ campaignId: "h", userId: "u1" }), undefined, "held: may still end");
  const confirmed = held(await api.admission.confirm(claim.claimId));
  await w.write(api.admission, [confirmed]);
  const again = await api.admission.admit({ campaignId: "h", userId: "u1" });
  assert.equal(again.kind, "already_claimed");
  assert.equal(
    api.admission.known({ campaignId: "h", userId: "u1" })?.kind,
    "already_claimed",
    "issued: for good",
  );
});

test("userClaims: a user's live holds from Redis and ended ones from the ledger", { skip }, async (t) => {
  const w = await world(t);
  const { admission } = w.process();
  await w.create({ id: "h", stock: 5, perUserLimit: 2 }, admission);
  const first = admitted(await admission.admit({ campaignId: "h", userId: "u1" }));
  await w.write(admission, [first, held(await admission.release(first.claimId))]);
  const second = admitted(await admission.admit({ campaignId: "h", userId: "u1" }));
  assert.equal(second.seq, 1, "the released hold's slot");
  assert.deepEqual(
    (await admission.userClaims("h", "u1")).map((c) => [c.claimId, c.status]),
    [
      [first.claimId, "released"],
      [second.claimId, "pending"],
    ],
  );
});

test("claim worker, snapshots reordered (several stream consumers): a reused unit's claim waits for the freed hold's end", {
  skip,
}, async (t) => {
  const w = await world(t);
  const { admission } = w.process();
  await w.create({ id: "h", stock: 1 }, admission);
  const first = admitted(await admission.admit({ campaignId: "h", userId: "u1" }));
  await w.write(admission, [first]);
  const released = held(await admission.release(first.claimId));
  const second = admitted(await admission.admit({ campaignId: "h", userId: "u2" }));
  assert.equal(second.unit, first.unit);
  const worker = new ClaimWorker({
    queue: { consume: () => ({ stop: async () => undefined }) } as never,
    ledger: w.ledger,
    admission,
    notifier: {
      publish: async () => undefined,
      subscribe: async () => () => undefined,
      close: async () => undefined,
    },
    logger,
    batchSize: 10,
    flushIntervalMs: 1,
  });
  // The second claim reaches the ledger before the first one's release.
  await worker.write([second]);
  assert.equal(
    (await w.ledger.findClaim(second.claimId))?.status,
    "held",
    "written once the blocker's end was",
  );
  assert.equal((await w.ledger.findClaim(first.claimId))?.status, "released");
  assert.equal(
    await admission.getClaim(first.claimId),
    undefined,
    "its end is in the ledger: gone from Redis",
  );
  await worker.write([released]); // the release itself, late: a redelivery now
  assert.deepEqual(await admission.counters("h"), { admitted: 1, issued: 0, held: 1 });
});

test("rebuild after a Redis loss: held holds back in the expiries, queued decisions by their newest status, units held by live claims only", {
  skip,
}, async (t) => {
  const w = await world(t);
  const { admission } = w.process();
  await w.create({ id: "h", stock: 10, holdSeconds: 2 }, admission);
  const admit = (userId: string) => admission.admit({ campaignId: "h", userId }).then(admitted);
  const heldOnly = await admit("held"); // in the ledger, held
  const confirmedInRedis = await admit("confirmed"); // in the ledger held; its confirmation only queued
  const issued = await admit("issued"); // in the ledger, issued
  const releasedQueued = await admit("released"); // held in the ledger; the release only queued
  const releasedInLedger = await admit("gone"); // released, in the ledger
  await w.write(admission, [heldOnly, confirmedInRedis, issued, releasedQueued, releasedInLedger]);
  await w.write(admission, [held(await admission.confirm(issued.claimId))]);
  await w.write(admission, [held(await admission.release(releasedInLedger.claimId))]);
  const confirmation = held(await admission.confirm(confirmedInRedis.claimId));
  held(await admission.release(releasedQueued.claimId));
  const pendingOnly = await admit("pending"); // only in the stream
  const before = await admission.counters("h");
  assert.deepEqual(before, { admitted: 4, issued: 1, held: 1 });

  // Redis loses everything but the stream (what was queued is what a rebuild adds to the ledger).
  const k = w.keys.campaign("h");
  await w.redis.del(k.state, k.holders, k.claims, k.free, k.expiries, w.keys.holdsRegistry);
  const other = w.process();
  assert.equal(await other.admission.rebuild("h"), "rebuilt");
  const a = other.admission;
  assert.deepEqual(await a.counters("h"), before, "counters exact");
  const status = async (c: Claim) => (await a.getClaim(c.claimId))?.status;
  assert.equal(await status(heldOnly), "held");
  assert.equal(await status(confirmedInRedis), "issued");
  assert.equal((await a.getClaim(confirmedInRedis.claimId))?.issuedAt, confirmation.issuedAt);
  assert.equal(await status(releasedQueued), "released", "readable until the ledger has its end");
  assert.equal(await status(pendingOnly), "pending");
  assert.equal(await a.getClaim(issued.claimId), undefined, "final in the ledger: not in Redis");
  assert.equal(await a.getClaim(releasedInLedger.claimId), undefined);
  assert.deepEqual(
    (await w.redis.zrange(k.expiries, "0", "-1")).sort(),
    [heldOnly.claimId, pendingOnly.claimId].sort(),
  );
  assert.deepEqual(await a.holdCampaigns(), ["h"]);
  assert.equal(pendingOnly.unit, releasedInLedger.unit, "admitted after that release: its unit again");
  assert.deepEqual(
    (await w.redis.lrange(k.free, 0, -1)).map(Number),
    [releasedQueued.unit],
    "the units no live claim holds, and only those",
  );
  assert.equal((await a.confirm(confirmedInRedis.claimId)).kind, "confirmed");
  assert.equal((await a.release(releasedQueued.claimId)).kind, "released");

  // The live holds' time passes while nobody reaps: they expire at the next reap.
  await sleep(Math.max(0, pendingOnly.expiresAt! - Date.now()) + 100);
  const reaped = await a.reapExpired("h");
  assert.deepEqual(
    reaped.expired.map((c) => c.claimId).sort(),
    [heldOnly.claimId, pendingOnly.claimId].sort(),
  );
  assert.deepEqual(await a.counters("h"), { admitted: 2, issued: 1, held: 0 });
  const free = (await w.redis.lrange(k.free, 0, -1)).map(Number);
  assert.equal(new Set(free).size, free.length, "no unit twice in the free list");
  // Everything still queued reaches the ledger; then Redis keeps nothing ended.
  const stream = (await w.redis.xrange(k.stream, "-", "+")) as [string, string[]][];
  const result = await w.ledger.write(
    stream.map(([, f]) => unpackClaim(f[1]!)),
    Date.now(),
  );
  assert.deepEqual(result.conflicts, []);
  await a.markWritten(result.written);
  assert.deepEqual(await a.counters("h"), { admitted: 2, issued: 2, held: 0 });
  assert.equal(await w.redis.hlen(k.claims), 0);
  assert.deepEqual(await w.redis.hmget(k.state, "ended"), ["0"]);
});
