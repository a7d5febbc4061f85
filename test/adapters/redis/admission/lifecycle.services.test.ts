import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { pino } from "pino";
import { PostgresLedger } from "../../../../src/adapters/postgres/postgres-ledger.ts";
import { LossMonitor } from "../../../../src/adapters/redis/admission/loss-monitor.ts";
import { RedisAdmission } from "../../../../src/adapters/redis/admission/redis-admission.ts";
import { RetentionSweeper } from "../../../../src/adapters/redis/admission/retention.ts";
import { packClaim, unpackClaim } from "../../../../src/adapters/redis/claim-codec.ts";
import { RedisKeys } from "../../../../src/adapters/redis/keys.ts";
import { streamSink } from "../../../../src/adapters/redis/streams/claims-sink.ts";
import { RedisStreamQueue } from "../../../../src/adapters/redis/streams/redis-stream-queue.ts";
import type { Campaign, Claim } from "../../../../src/domain/types.ts";
import type { AdmitOutcome, ChangeOutcome } from "../../../../src/ports/admission.ts";
import { ClaimWorker } from "../../../../src/workers/claim-worker.ts";
import {
  DATABASE_URL,
  deleteKeys,
  REDIS_URL,
  redisClient,
  skipWithoutServices,
  testPrefix,
  testSchema,
} from "../../../helpers/services.ts";
import { eventually } from "../../../helpers/wait.ts";

/**
 * Lifecycle in distributed mode, in this process against real Redis and
 * PostgreSQL: changes atomic with admission (change-campaign-5.lua), a stock
 * raise no sold-out cache can hide, erasure (forget-user-3.lua), a rebuild
 * that keeps the lifecycle, and retention (retire-5.lua, RetentionSweeper).
 */
const skip = await skipWithoutServices();

type After = { after: (fn: () => Promise<void> | void) => void };

async function world(t: After, graceMs = 86_400_000) {
  const prefix = testPrefix(t, "life");
  const keys = new RedisKeys(prefix);
  const ledger = new PostgresLedger({ connectionString: DATABASE_URL, schema: testSchema(t, "life") });
  t.after(() => ledger.close());
  await ledger.migrate();
  const redis = redisClient(t);
  const admissions: RedisAdmission[] = [];
  t.after(async () => {
    for (const a of admissions) await a.close();
  });
  const process = () => {
    const r = redisClient(t, REDIS_URL, { enableAutoPipelining: true });
    const admission = new RedisAdmission({
      redis: r,
      keys,
      ledger,
      logger: pino({ level: "silent" }),
      sink: streamSink({ redis: r, keys, cap: 100_000 }),
      retentionGraceMs: graceMs,
    });
    admissions.push(admission);
    return admission;
  };
  return {
    prefix,
    keys,
    ledger,
    redis,
    process,
    async create(partial: Partial<Campaign> & { id: string }) {
      const campaign: Campaign = {
        name: "drop",
        stock: 2,
        perUserLimit: 1,
        startsAt: null,
        endsAt: null,
        createdAt: Date.now(),
        ...partial,
      };
      assert.equal(await ledger.createCampaign(campaign), true);
      return campaign;
    },
    /** What a worker does with a batch. */
    async issue(admission: RedisAdmission, claims: Claim[]) {
      const result = await ledger.write(claims, Date.now());
      assert.equal(result.conflicts.length, 0);
      await admission.markWritten(result.written);
    },
  };
}

const admitted = (o: AdmitOutcome): Claim => {
  assert.equal(o.kind, "admitted", JSON.stringify(o));
  return (o as { claim: Claim }).claim;
};
const changed = (o: ChangeOutcome) => {
  assert.equal(o.kind, "changed", JSON.stringify(o));
  return o as Extract<ChangeOutcome, { kind: "changed" }>;
};
const reason = (o: AdmitOutcome) => (o.kind === "not_active" ? o.reason : o.kind);

test("pause, resume, endsAt and close apply atomically in Redis; stock never below what is handed out", {
  skip,
}, async (t) => {
  const w = await world(t);
  const a = w.process();
  await a.putCampaign(await w.create({ id: "c1", stock: 3 }));
  admitted(await a.admit({ campaignId: "c1", userId: "u1" }));

  const paused = changed(await a.changeCampaign("c1", { status: "paused" }));
  assert.deepEqual(
    [paused.previous.status, paused.campaign.status, paused.campaign.revision],
    ["open", "paused", 1],
  );
  assert.ok(Math.abs(paused.appliedAt - Date.now()) < 5000, "applied at Redis TIME");
  assert.equal(reason(await a.admit({ campaignId: "c1", userId: "u2" })), "paused");
  assert.equal((await a.admit({ campaignId: "c1", userId: "u1" })).kind, "already_claimed");
  changed(await a.changeCampaign("c1", { status: "open" }));
  admitted(await a.admit({ campaignId: "c1", userId: "u2" }));

  const below = await a.changeCampaign("c1", { stock: 1 });
  assert.deepEqual(
    [below.kind, below.kind === "stock_below_admitted" && below.admitted],
    ["stock_below_admitted", 2],
  );
  changed(await a.changeCampaign("c1", { stock: 2 }));
  assert.equal((await a.admit({ campaignId: "c1", userId: "u3" })).kind, "sold_out");

  const past = changed(await a.changeCampaign("c1", { endsAt: Date.now() - 1000 }));
  assert.ok(past.campaign.endsAt! < Date.now());
  assert.equal(reason(await a.admit({ campaignId: "c1", userId: "u4" })), "ended");
  changed(await a.changeCampaign("c1", { endsAt: null }));

  const closed = changed(await a.changeCampaign("c1", { status: "closed" }));
  assert.ok(
    closed.campaign.endsAt !== null && Math.abs(closed.campaign.endsAt - closed.appliedAt) < 5,
    "closing ends it now",
  );
  assert.equal(reason(await a.admit({ campaignId: "c1", userId: "u5" })), "closed");
  assert.equal((await a.changeCampaign("c1", { status: "open" })).kind, "closed");
  assert.equal((await a.changeCampaign("nope", { status: "open" })).kind, "campaign_not_found");
  const definition = await w.redis.hmget(w.keys.campaign("c1").state, "status", "lifecycleRevision", "stock");
  assert.deepEqual(definition, ["closed", "6", "2"]);
});

test("raising the stock of a sold-out campaign: no process answers 410 from its cache once the raise returns", {
  skip,
}, async (t) => {
  const w = await world(t);
  const api = w.process();
  const admin = w.process();
  const campaign = await w.create({ id: "c1", stock: 1 });
  await api.putCampaign(campaign);
  const first = admitted(await api.admit({ campaignId: "c1", userId: "u1" }));
  await w.issue(api, [first]);
  assert.equal((await api.admit({ campaignId: "c1", userId: "u2" })).kind, "sold_out");
  // Wait until the API process answers sold-out from its cache.
  const k = w.keys.campaign("c1");
  await eventually(async () => {
    const before = await w.redis.hget(k.state, "admitted");
    const outcome = await api.admit({ campaignId: "c1", userId: "probe" });
    return outcome.kind === "sold_out" && before === "1";
  });
  const started = performance.now();
  const raised = changed(await admin.changeCampaign("c1", { stock: 3 }));
  assert.ok(performance.now() - started >= 1000, "the raise waited out the cache lease");
  assert.equal(raised.campaign.stock, 3);
  const next = await api.admit({ campaignId: "c1", userId: "u2" });
  assert.equal(next.kind, "admitted", "admitted at once by the process that had cached sold out");
  admitted(await api.admit({ campaignId: "c1", userId: "u3" }));
  assert.equal((await api.admit({ campaignId: "c1", userId: "u4" })).kind, "sold_out");
  assert.equal(await w.redis.hexists(k.state, "hold"), 0);
});

test("a rebuild keeps the lifecycle the ledger recorded (status, stock, endsAt, revision)", {
  skip,
}, async (t) => {
  const w = await world(t);
  const a = w.process();
  await a.putCampaign(await w.create({ id: "c1", stock: 2 }));
  const outcome = changed(await a.changeCampaign("c1", { status: "paused", stock: 5 }));
  await w.ledger.lifecycle.recordCampaignChange(outcome.campaign, {
    campaignId: "c1",
    at: outcome.appliedAt,
    actor: "t",
    requestId: "r",
    clientIp: "",
    action: "update",
    details: {},
  });
  await deleteKeys(REDIS_URL, `${w.prefix}:*`);
  assert.equal(await a.rebuild("c1"), "rebuilt");
  assert.equal(reason(await a.admit({ campaignId: "c1", userId: "u1" })), "paused");
  const state = await w.redis.hmget(w.keys.campaign("c1").state, "status", "stock", "lifecycleRevision");
  assert.deepEqual(state, ["paused", "5", "1"]);
  assert.equal(changed(await a.changeCampaign("c1", { status: "open" })).campaign.revision, 2);
});

test("forgetting a user: refused while a claim is pending, then tombstoned; a rebuild does not bring them back", {
  skip,
}, async (t) => {
  const w = await world(t);
  const a = w.process();
  await a.putCampaign(await w.create({ id: "c1", stock: 5 }));
  const claim = admitted(await a.admit({ campaignId: "c1", userId: "alice" }));
  assert.deepEqual(await a.forgetUser("c1", "alice"), { kind: "pending" });
  await w.issue(a, [claim]);
  assert.deepEqual(await w.ledger.lifecycle.eraseUser("c1", "alice", undefined), [claim.claimId]);
  assert.deepEqual(await a.forgetUser("c1", "alice"), { kind: "forgotten", claims: 1 });
  const holders = await w.redis.hgetall(w.keys.campaign("c1").holders);
  assert.deepEqual(Object.keys(holders), [`erased:${claim.claimId}`]);
  // Forgotten: alice is a new user now; her old unit stays consumed.
  const again = admitted(await a.admit({ campaignId: "c1", userId: "alice" }));
  assert.deepEqual([again.unit, again.seq], [2, 1]);
  await deleteKeys(REDIS_URL, `${w.prefix}:*`);
  assert.equal(await a.rebuild("c1"), "rebuilt");
  assert.deepEqual(
    await a.counters("c1"),
    { admitted: 1, issued: 1, held: 0 },
    "the new pending claim left with the stream",
  );
  assert.deepEqual(await a.forgetUser("c1", "nobody"), { kind: "forgotten", claims: 0 });
});

test("retention: ended and drained, the keys expire after the grace; retired campaigns are answered from the ledger", {
  skip,
}, async (t) => {
  const graceMs = 1500;
  const w = await world(t, graceMs);
  const a = w.process();
  const sweeper = new RetentionSweeper({
    redis: w.redis,
    keys: w.keys,
    ledger: w.ledger,
    logger: pino({ level: "silent" }),
    graceMs,
    intervalMs: 60_000,
  });
  const endsAt = Date.now() + 1000;
  await a.putCampaign(await w.create({ id: "c1", stock: 5, endsAt }));
  const kept = admitted(await a.admit({ campaignId: "c1", userId: "u1" }));
  const late = admitted(await a.admit({ campaignId: "c1", userId: "u2" }));
  const k = w.keys.campaign("c1");
  assert.deepEqual(await sweeper.sweep(), { expiring: [], retired: [] }, "not ended yet");

  await sleep(endsAt - Date.now() + 50);
  await w.issue(a, [kept]);
  assert.deepEqual((await sweeper.sweep()).expiring, [], "a claim is still pending: no expiry");
  assert.equal(await w.redis.pttl(k.state), -1);
  await w.issue(a, [late]);
  assert.deepEqual((await sweeper.sweep()).expiring, ["c1"]);
  for (const key of [k.state, k.holders, k.stream]) {
    const ttl = await w.redis.pttl(key);
    assert.ok(ttl > 0 && ttl <= graceMs + 1000, `${key} expires (pttl ${ttl})`);
  }
  // Reopening (a new end ahead) removes the expiry; ending again sets it again.
  changed(await a.changeCampaign("c1", { endsAt: Date.now() + 60_000 }));
  assert.equal(await w.redis.pttl(k.state), -1);
  const ended = changed(await a.changeCampaign("c1", { endsAt: Date.now() - 1 }));
  await w.ledger.lifecycle.recordCampaignChange(ended.campaign, {
    campaignId: "c1",
    at: ended.appliedAt,
    actor: "t",
    requestId: "r",
    clientIp: "",
    action: "update",
    details: {},
  });
  assert.deepEqual((await sweeper.sweep()).expiring, ["c1"]);

  await eventually(async () => (await w.redis.exists(k.state, k.holders, k.stream)) === 0, 10_000);
  await w.redis.sadd(w.keys.registry, "c1");
  assert.deepEqual((await sweeper.sweep()).retired, ["c1"]);
  assert.equal(await w.redis.sismember(w.keys.registry, "c1"), 0);

  // Retired: never rebuilt, answered from the ledger.
  const monitor = new LossMonitor({
    redis: w.redis,
    keys: w.keys,
    ledger: w.ledger,
    rebuild: (id) => a.rebuild(id),
    logger: pino({ level: "silent" }),
    intervalMs: 60_000,
    retentionGraceMs: graceMs,
  });
  assert.deepEqual(await monitor.check(), []);
  assert.equal(await a.rebuild("c1"), "retired");
  const holder = await a.admit({ campaignId: "c1", userId: "u1" });
  assert.equal(holder.kind, "already_claimed");
  assert.equal((holder as { claim: Claim }).claim.claimId, kept.claimId);
  assert.equal(reason(await a.admit({ campaignId: "c1", userId: "u9" })), "ended");
  assert.deepEqual(await a.counters("c1"), { admitted: 2, issued: 2, held: 0 });
  assert.equal((await a.changeCampaign("c1", { status: "paused" })).kind, "archived");
  assert.equal(await w.redis.exists(k.state), 0, "nothing written back to Redis");
  assert.equal(await w.ledger.issuedCount("c1"), 2, "the ledger keeps everything");
});

test("one worker, two layouts on the stream: the v1 claim is issued, an unknown newer layout waits for a newer worker", {
  skip,
}, async (t) => {
  const w = await world(t);
  const a = w.process();
  await a.putCampaign(await w.create({ id: "c1", stock: 5 }));
  const k = w.keys.campaign("c1");
  const claim = admitted(await a.admit({ campaignId: "c1", userId: "u1" }));
  // What a newer process would write: the same claim shape under layout version 3.
  const future = packClaim({ ...claim, claimId: `${claim.claimId}Z`, unit: 2, userId: "u2" }).replace(
    /^1/,
    "3",
  );
  await w.redis.xadd(k.stream, "*", "d", future);
  const queue = new RedisStreamQueue<Claim>({
    redis: redisClient(t),
    blocking: redisClient(t),
    streams: [k.stream],
    group: "workers",
    consumer: "w1",
    codec: { encode: packClaim, decode: unpackClaim },
    logger: pino({ level: "silent" }),
    maxLen: 100_000,
    claimIdleMs: 60_000,
    blockMs: 50,
    maintenanceMs: 100,
    refreshMs: 50,
  });
  const worker = new ClaimWorker({
    queue,
    ledger: w.ledger,
    admission: a,
    notifier: {
      publish: async () => undefined,
      subscribe: async () => () => undefined,
      close: async () => undefined,
    },
    logger: pino({ level: "silent" }),
    batchSize: 10,
    flushIntervalMs: 1,
  });
  worker.start();
  t.after(() => worker.stop());
  await eventually(async () => (await w.ledger.issuedCount("c1")) === 1);
  await sleep(300);
  assert.equal((await w.ledger.findClaim(claim.claimId))?.couponCode, claim.couponCode);
  assert.equal(await w.ledger.issuedCount("c1"), 1, "the newer layout was not misread as a claim");
  const [pending] = (await w.redis.xpending(k.stream, "workers")) as [number];
  assert.equal(pending, 1, "it stays pending for a newer worker, not acknowledged");
});
