import assert from "node:assert/strict";
import { test } from "node:test";
import type { Redis } from "ioredis";
import { ADMIT, MARK_WRITTEN } from "../../../../src/adapters/redis/admission/codes.ts";
import { definitionFields } from "../../../../src/adapters/redis/admission/rebuild.ts";
import { RedisKeys } from "../../../../src/adapters/redis/keys.ts";
import { redisScripts, type Scripts } from "../../../../src/adapters/redis/scripts.ts";
import { startOwnRedis } from "../../../helpers/own-redis.ts";
import { redisClient, skipWithoutServices, testPrefix } from "../../../helpers/services.ts";
import { eventually } from "../../../helpers/wait.ts";

/** The admission scripts' contracts (each script's header), return code by return code, on a real Redis. */
const skip = await skipWithoutServices();

interface Setup {
  redis: Redis;
  scripts: Scripts;
  keys: RedisKeys;
  /** Loads a campaign state as a rebuild would, at the given epoch. */
  open(campaign?: Partial<Parameters<typeof definitionFields>[0]>, epoch?: number): Promise<void>;
  /** The reply without its lease token (third), which admitRaw keeps. */
  admit(userId: string, claimId: string, options?: AdmitOptions): Promise<unknown[]>;
  admitRaw(userId: string, claimId: string, options?: AdmitOptions): Promise<unknown[]>;
}

interface AdmitOptions {
  idem?: string;
  cap?: number;
  sink?: "stream" | "outbox";
  /** Rate limits: [interval ms, burst]. */
  user?: [number, number];
  ip?: [number, number];
  address?: string;
  channel?: string;
  /** Most due holds to expire first (ARGV[14]). */
  reap?: number;
}

let counter = 0;
async function setup(
  t: { after: (fn: () => void | Promise<void>) => void },
  campaignId = "c1",
): Promise<Setup> {
  const redis = redisClient(t);
  const keys = new RedisKeys(testPrefix(t, "lua"));
  const scripts = redisScripts(redis);
  const k = keys.campaign(campaignId);
  return {
    redis,
    scripts,
    keys,
    async open(campaign = {}, epoch = 1) {
      const c = {
        id: campaignId,
        name: "n",
        stock: 2,
        perUserLimit: 1,
        startsAt: null,
        endsAt: null,
        createdAt: 1,
        ...campaign,
      };
      assert.equal(
        await scripts.rebuildBegin([k.state, k.holders, k.free, k.expiries], [epoch, ...definitionFields(c)]),
        1,
      );
      assert.equal(await scripts.rebuildOpen([k.state], [epoch, 0, 0, 0, "open"]), 1);
    },
    admitRaw,
    async admit(userId, claimId, options = {}) {
      const reply = await admitRaw(userId, claimId, options);
      return reply.length >= 3 ? [reply[0], reply[1], ...reply.slice(3)] : reply;
    },
  };

  async function admitRaw(userId: string, claimId: string, options: AdmitOptions = {}): Promise<unknown[]> {
    const idem = options.idem ?? "";
    const sink = options.sink ?? "stream";
    return (await scripts.admit(
      [
        k.state,
        k.holders,
        k.claims,
        sink === "stream" ? k.stream : k.outbox,
        k.free,
        idem === "" ? k.noIdempotency : k.idempotency(userId, idem),
        options.user ? k.rateUser(userId) : k.noIdempotency,
        options.ip ? k.rateIp(options.address ?? "10.0.0.1") : k.noIdempotency,
        k.expiries,
      ],
      [
        campaignId,
        userId,
        claimId,
        `CODE-${++counter}`,
        idem,
        3600,
        sink,
        options.cap ?? 1000,
        options.user?.[0] ?? "",
        options.user?.[1] ?? "",
        options.ip?.[0] ?? "",
        options.ip?.[1] ?? "",
        options.channel ?? "",
        options.reap ?? 32,
      ],
    )) as unknown[];
  }
}

/** mark-written-3.lua with one status for every claim. */
function markWritten(s: Setup, status: string, ids: string[]): Promise<unknown> {
  const k = s.keys.campaign("c1");
  return s.scripts.markWritten(
    [k.state, k.claims, k.expiries],
    ids.flatMap((id) => [id, status]),
  );
}

test("admit: NOT_FOUND without state, REBUILDING while rebuilding", { skip }, async (t) => {
  const s = await setup(t);
  assert.deepEqual(await s.admit("u1", "id1"), [ADMIT.NOT_FOUND, 0]);
  const k = s.keys.campaign("c1");
  const def = definitionFields({
    id: "c1",
    name: "n",
    stock: 1,
    perUserLimit: 1,
    startsAt: null,
    endsAt: null,
    createdAt: 1,
  });
  assert.equal(await s.scripts.rebuildBegin([k.state, k.holders, k.free, k.expiries], [1, ...def]), 1);
  assert.deepEqual(await s.admit("u1", "id1"), [ADMIT.REBUILDING, 0]);
});

test("admit: reserves unit and seq, records the claim, queues it; a re-sent call admits nothing new", {
  skip,
}, async (t) => {
  const s = await setup(t);
  await s.open({ stock: 3 });
  const k = s.keys.campaign("c1");
  const first = await s.admit("u1", "id1");
  assert.equal(first[0], ADMIT.ADMITTED);
  assert.equal(first[1], 0);
  assert.equal(first[2], "id1");
  assert.equal(first[4], 1, "seq");
  assert.equal(first[5], 1, "pending");
  const packed = String(first[6]).split("\u001f");
  assert.equal(packed[0], "1", "layout version");
  assert.equal(packed[5], "1", "unit 1");
  assert.equal(await s.redis.xlen(k.stream), 1);
  assert.equal(await s.redis.hget(k.state, "admitted"), "1");
  assert.ok(await s.redis.hget(k.claims, "id1"));

  // The same call again (a client library re-sending after a lost reply).
  const again = await s.admit("u1", "id1");
  assert.equal(again[0], ADMIT.ADMITTED);
  assert.equal(again[6], first[6]);
  assert.equal(await s.redis.xlen(k.stream), 1, "not queued twice");
  assert.equal(await s.redis.hget(k.state, "admitted"), "1", "not reserved twice");

  const second = await s.admit("u2", "id2");
  assert.equal(String(second[6]).split("\u001f")[5], "2", "unit 2");
});

test("admit: ALREADY_CLAIMED names the most recent claim and its status", { skip }, async (t) => {
  const s = await setup(t);
  await s.open({ stock: 5, perUserLimit: 2 });
  const k = s.keys.campaign("c1");
  assert.equal((await s.admit("u1", "a1"))[4], 1);
  assert.equal((await s.admit("u1", "a2"))[4], 2);
  const third = await s.admit("u1", "a3");
  assert.equal(third[0], ADMIT.ALREADY_CLAIMED);
  assert.equal(third[2], "a2");
  assert.equal(third[4], 2);
  assert.equal(third[5], 1, "pending");
  assert.deepEqual(await markWritten(s, "issued", ["a1", "a2"]), [MARK_WRITTEN.OK, 2, 0, 0, 0]);
  const fourth = await s.admit("u1", "a4");
  assert.equal(fourth[0], ADMIT.ALREADY_CLAIMED);
  assert.equal(fourth[5], 0, "issued: no longer pending");
  assert.equal(fourth[6], "");
  assert.equal(await s.redis.hget(k.state, "admitted"), "2");
});

test("admit: the window is judged by Redis TIME; paused and closed are not active", { skip }, async (t) => {
  const s = await setup(t);
  await s.open({ startsAt: Date.now() + 3_600_000 });
  assert.deepEqual(await s.admit("u1", "x1"), [ADMIT.NOT_ACTIVE, 0, "not_started"]);
  const ended = await setup(t, "c2");
  await ended.open({ startsAt: Date.now() - 7_200_000, endsAt: Date.now() - 3_600_000 });
  assert.deepEqual(await ended.admit("u1", "x2"), [ADMIT.NOT_ACTIVE, 0, "ended"]);
  const k = s.keys.campaign("c1");
  await s.redis.hset(k.state, "startsAt", "", "status", "paused");
  assert.deepEqual(await s.admit("u1", "x3"), [ADMIT.NOT_ACTIVE, 0, "paused"]);
  await s.redis.hset(k.state, "status", "closed");
  assert.deepEqual(await s.admit("u1", "x4"), [ADMIT.NOT_ACTIVE, 0, "closed"]);
  assert.equal(await s.redis.exists(k.stream), 0);
});

test("admit: SOLD_OUT once every unit is held; a holder still gets ALREADY_CLAIMED", { skip }, async (t) => {
  const s = await setup(t);
  await s.open({ stock: 1 });
  assert.equal((await s.admit("u1", "s1"))[0], ADMIT.ADMITTED);
  assert.deepEqual(await s.admit("u2", "s2"), [ADMIT.SOLD_OUT, 0]);
  assert.equal((await s.admit("u1", "s3"))[0], ADMIT.ALREADY_CLAIMED);
});

test("admit: SINK_FULL at the stream's cap reserves nothing; outbox mode writes the outbox, not the stream", {
  skip,
}, async (t) => {
  const s = await setup(t);
  await s.open({ stock: 5 });
  const k = s.keys.campaign("c1");
  assert.equal((await s.admit("u1", "f1", { cap: 1 }))[0], ADMIT.ADMITTED);
  assert.deepEqual(await s.admit("u2", "f2", { cap: 1 }), [ADMIT.SINK_FULL, 0]);
  assert.equal(await s.redis.hget(k.state, "admitted"), "1");
  assert.equal(await s.redis.hexists(k.holders, "u2"), 0);

  const o = await setup(t, "c3");
  await o.open({ stock: 5 });
  const ko = o.keys.campaign("c3");
  assert.equal((await o.admit("u1", "o1", { sink: "outbox" }))[0], ADMIT.ADMITTED);
  assert.equal(await o.redis.zcard(ko.outbox), 1);
  assert.equal(await o.redis.exists(ko.stream), 0);
  assert.deepEqual(await o.admit("u2", "o2", { sink: "outbox", cap: 1 }), [ADMIT.SINK_FULL, 0]);
});

test("admit: an Idempotency-Key repeat answers what the first request was answered", { skip }, async (t) => {
  const s = await setup(t);
  await s.open({ stock: 1 });
  const first = await s.admit("u1", "i1", { idem: "k1" });
  assert.equal(first[0], ADMIT.ADMITTED);
  const repeat = await s.admit("u1", "i2", { idem: "k1" });
  assert.equal(repeat[0], ADMIT.ADMITTED);
  assert.equal(repeat[1], 1, "replayed");
  assert.equal(repeat[2], "i1");
  const held = await s.admit("u1", "i3", { idem: "k2" });
  assert.equal(held[0], ADMIT.ALREADY_CLAIMED);
  assert.equal((await s.admit("u1", "i4", { idem: "k2" }))[1], 1);
  assert.deepEqual(await s.admit("u2", "i5", { idem: "k3" }), [ADMIT.SOLD_OUT, 0]);
  assert.deepEqual(await s.admit("u2", "i6", { idem: "k3" }), [ADMIT.SOLD_OUT, 1]);
  // The same key of another user is another request.
  assert.deepEqual(await s.admit("u3", "i7", { idem: "k1" }), [ADMIT.SOLD_OUT, 0]);
});

test("admit: units freed by a rebuild go first, and the lowest free user slot is taken", {
  skip,
}, async (t) => {
  const s = await setup(t);
  await s.open({ stock: 10, perUserLimit: 3 });
  const k = s.keys.campaign("c1");
  await s.redis.rpush(k.free, 4);
  await s.redis.hset(k.state, "next", 7, "admitted", 6);
  await s.redis.hset(k.holders, "u1", "old1:1000:1,old3:1001:3");
  const reply = await s.admit("u1", "n1");
  const packed = String(reply[6]).split("\u001f");
  assert.equal(packed[4], "2", "seq 2: the slot a lost claim left");
  assert.equal(packed[5], "4", "unit 4: freed");
  const next = await s.admit("u2", "n2");
  assert.equal(String(next[6]).split("\u001f")[5], "8", "then next + 1");
});

test("mark-written: issued counts each claim once; NOT_FOUND and REBUILDING change nothing", {
  skip,
}, async (t) => {
  const s = await setup(t);
  const k = s.keys.campaign("c1");
  assert.deepEqual(await markWritten(s, "issued", ["m1"]), [MARK_WRITTEN.NOT_FOUND, 0, 0, 0, 0]);
  await s.open({ stock: 5 });
  await s.admit("u1", "m1");
  await s.admit("u2", "m2");
  assert.deepEqual(await markWritten(s, "issued", ["m1", "m1"]), [MARK_WRITTEN.OK, 1, 0, 0, 0]);
  assert.deepEqual(await markWritten(s, "issued", ["m1", "m2"]), [MARK_WRITTEN.OK, 1, 0, 0, 0]);
  assert.equal(await s.redis.hget(k.state, "issued"), "2");
  await s.redis.hset(k.state, "status", "rebuilding");
  await s.admit("u3", "m3");
  assert.deepEqual(await markWritten(s, "issued", ["m3"]), [MARK_WRITTEN.REBUILDING, 0, 0, 0, 0]);
});

test("rebuild scripts: only the highest epoch may begin, load and open", { skip }, async (t) => {
  const s = await setup(t);
  const k = s.keys.campaign("c1");
  const def = definitionFields({
    id: "c1",
    name: "n",
    stock: 5,
    perUserLimit: 1,
    startsAt: null,
    endsAt: null,
    createdAt: 1,
  });
  const load = (epoch: number, user: string) =>
    s.scripts.rebuildLoad(
      [k.state, k.holders, k.claims, k.free, k.expiries],
      [epoch, 60, 1, 0, 0, 0, 0, user, "c:1:1"],
    );
  assert.equal(await s.scripts.rebuildBegin([k.state, k.holders, k.free, k.expiries], [3, ...def]), 1);
  assert.equal(
    await s.scripts.rebuildBegin([k.state, k.holders, k.free, k.expiries], [2, ...def]),
    0,
    "older epoch refused",
  );
  assert.equal(await load(2, "old"), 0);
  assert.equal(await load(3, "new"), 1);
  assert.equal(
    await s.scripts.rebuildBegin([k.state, k.holders, k.free, k.expiries], [4, ...def]),
    1,
    "a newer one takes over",
  );
  assert.equal(await s.redis.hexists(k.holders, "new"), 0, "and starts from a clean slate");
  assert.equal(await load(3, "late"), 0, "the superseded one cannot write");
  assert.equal(await s.scripts.rebuildOpen([k.state], [3, 1, 1, 1, "open"]), 0);
  assert.equal(await s.scripts.rebuildOpen([k.state], [4, 0, 0, 0, "open"]), 1);
  assert.equal(await s.redis.hget(k.state, "epoch"), "4");
  assert.equal(await s.redis.hget(k.state, "status"), "open");
  assert.equal(
    await s.scripts.rebuildBegin([k.state, k.holders, k.free, k.expiries], [4, ...def]),
    0,
    "an opened epoch is not begun again",
  );
});

test("answer-snapshot: nothing while claims are taken; the campaign-wide answer and every holder otherwise", {
  skip,
}, async (t) => {
  const s = await setup(t);
  await s.open({ stock: 2 });
  const k = s.keys.campaign("c1");
  const snapshot = (max = 100) => s.scripts.answerSnapshot([k.state, k.holders], [max]) as Promise<unknown[]>;
  await s.admit("u1", "p1");
  assert.deepEqual(await snapshot(), [0]);
  await s.admit("u2", "p2");
  const lease = `${await s.redis.hget(k.state, "epoch")}:${await s.redis.hget(k.state, "rev")}`;
  const snap = await snapshot();
  assert.deepEqual(snap.slice(0, 3), [1, lease, "sold_out"]);
  assert.ok(Math.abs(Number(snap[3]) - Date.now()) < 5000, "Redis TIME");
  assert.deepEqual(
    snap.slice(4, 9),
    ["", "", "1", 0, 1],
    "no window, perUser 1, not all issued, with holders",
  );
  assert.deepEqual(new Set([snap[9], snap[11]]), new Set(["u1", "u2"]));
  await markWritten(s, "issued", ["p1", "p2"]);
  assert.equal((await snapshot())[7], 1, "all issued");
  assert.equal((await snapshot(1))[8], 0, "too many holders to answer from memory");
  await s.redis.hset(k.state, "status", "paused");
  assert.equal((await snapshot())[2], "paused", "403 before 410");
  await s.redis.hset(k.state, "endsAt", Date.now() - 1000);
  assert.equal((await snapshot())[2], "ended");
  await s.redis.hset(k.state, "status", "closed");
  assert.equal((await snapshot())[2], "closed");
  await s.redis.hset(k.state, "hold", "1");
  assert.deepEqual(await snapshot(), [0], "on hold: nothing to answer from memory");
  await s.redis.hdel(k.state, "hold");
  await s.redis.hset(k.state, "status", "rebuilding");
  assert.deepEqual(await snapshot(), [0], "rebuilding");

  const later = await setup(t, "c2");
  await later.open({ startsAt: Date.now() + 3_600_000 });
  const k2 = later.keys.campaign("c2");
  const early = (await later.scripts.answerSnapshot([k2.state, k2.holders], [100])) as unknown[];
  assert.equal(early[2], "not_started");
});

test("admit: the lease token is the state's epoch:rev, and empty while a change is on hold", {
  skip,
}, async (t) => {
  const s = await setup(t);
  await s.open({ stock: 1 });
  const k = s.keys.campaign("c1");
  const lease = `${await s.redis.hget(k.state, "epoch")}:${await s.redis.hget(k.state, "rev")}`;
  const first = await s.admitRaw("u1", "l1");
  assert.deepEqual([first[0], first[2], first.at(-1)], [ADMIT.ADMITTED, lease, 1], "at the limit");
  assert.deepEqual(await s.admitRaw("u2", "l2"), [ADMIT.SOLD_OUT, 0, lease]);
  await s.redis.hset(k.state, "hold", "1");
  assert.deepEqual(await s.admitRaw("u2", "l3"), [ADMIT.SOLD_OUT, 0, ""]);
});

test("admit: the rate limits come after a repeat and before 409; a refusal counts nothing", {
  skip,
}, async (t) => {
  const s = await setup(t);
  await s.open({ stock: 10 });
  const k = s.keys.campaign("c1");
  // One a minute, two at once, per user; the address: three at once.
  const limits = { user: [60_000, 2] as [number, number], ip: [60_000, 3] as [number, number] };
  const first = await s.admit("u1", "r1", { ...limits, idem: "key" });
  assert.equal(first[0], ADMIT.ADMITTED);
  assert.equal((await s.admit("u1", "r2", limits))[0], ADMIT.ALREADY_CLAIMED);
  const refused = await s.admit("u1", "r3", limits);
  assert.equal(refused[0], ADMIT.RATE_LIMITED);
  assert.ok(Number(refused[2]) > 50_000 && Number(refused[2]) <= 60_000, `retry in ${refused[2]} ms`);
  const again = await s.admit("u1", "r4", { ...limits, idem: "key" });
  assert.deepEqual([again[0], again[1]], [ADMIT.ADMITTED, 1], "a repeat of a key is answered as before");
  assert.equal((await s.admit("u2", "r5", limits))[0], ADMIT.ADMITTED, "the address's third");
  const byAddress = await s.admit("u3", "r6", limits);
  assert.equal(byAddress[0], ADMIT.RATE_LIMITED, "the address's fourth");
  assert.equal(await s.redis.hexists(k.holders, "u3"), 0, "nothing reserved");
  assert.equal((await s.admit("u3", "r7", { ...limits, address: "10.0.0.2" }))[0], ADMIT.ADMITTED);
  assert.equal((await s.admit("u4", "r8"))[0], ADMIT.ADMITTED, "no limit given: none applied");
  const bucket = await s.redis.pttl(k.rateUser("u1"));
  assert.ok(bucket > 0 && bucket <= 120_000, "buckets expire once drained");
});

test("admit: taking the last unit publishes sold_out on the campaign events channel", { skip }, async (t) => {
  const s = await setup(t);
  await s.open({ stock: 2 });
  const channel = `${s.keys.prefix}:events`;
  const sub = redisClient(t);
  const heard: string[] = [];
  sub.on("message", (_c: string, message: string) => heard.push(message));
  await sub.subscribe(channel);
  await s.admit("u1", "e1", { channel });
  await s.admit("u2", "e2", { channel });
  await s.admit("u3", "e3", { channel });
  await eventually(() => heard.length > 0);
  assert.deepEqual(heard, ["sold_out c1"]);
});

test("scripts survive SCRIPT FLUSH and a Redis restart (EVALSHA falls back on NOSCRIPT)", {
  skip,
}, async (t) => {
  const own = await startOwnRedis(t, { appendfsync: "always" });
  const redis = redisClient(t, own.url, { maxRetriesPerRequest: 50 });
  const keys = new RedisKeys("nos");
  const scripts = redisScripts(redis);
  const k = keys.campaign("c1");
  const def = definitionFields({
    id: "c1",
    name: "n",
    stock: 10,
    perUserLimit: 1,
    startsAt: null,
    endsAt: null,
    createdAt: 1,
  });
  await scripts.rebuildBegin([k.state, k.holders, k.free, k.expiries], [1, ...def]);
  await scripts.rebuildOpen([k.state], [1, 0, 0, 0, "open"]);
  const admit = (u: string, suffix = "") =>
    scripts.admit(
      [
        k.state,
        k.holders,
        k.claims,
        k.stream,
        k.free,
        k.noIdempotency,
        k.noIdempotency,
        k.noIdempotency,
        k.expiries,
      ],
      ["c1", u, `id-${u}${suffix}`, `C-${u}${suffix}`, "", 60, "stream", 100, "", "", "", "", "", 0],
    ) as Promise<unknown[]>;
  assert.equal((await admit("u1"))[0], ADMIT.ADMITTED);
  assert.deepEqual(await redis.script("EXISTS", sha1Of(redis)), [1], "loaded by the first call");

  await redis.script("FLUSH");
  // Many at once after the flush: each fails with NOSCRIPT and is re-sent as EVAL.
  const burst = await Promise.all(["u2", "u3", "u4", "u5"].map((u) => admit(u)));
  assert.deepEqual(
    burst.map((r) => r[0]),
    [1, 1, 1, 1],
  );

  await own.kill9();
  await own.restart();
  // A fresh server knows no scripts; the state came back from the append-only file.
  assert.deepEqual(await redis.script("EXISTS", sha1Of(redis)), [0]);
  assert.equal((await admit("u6"))[0], ADMIT.ADMITTED);
  assert.equal((await admit("u1", "again"))[0], ADMIT.ALREADY_CLAIMED);
  assert.equal(await redis.hget(k.state, "admitted"), "6");
});

function sha1Of(redis: Redis): string {
  const script = (redis as unknown as { scriptsSet: Record<string, { sha: string }> }).scriptsSet
    .stampede_admit;
  assert.ok(script);
  return script.sha;
}
