import assert from "node:assert/strict";
import { test } from "node:test";
import type { Redis } from "ioredis";
import { ADMIT, HOLD, MARK_WRITTEN, REAP, RETIRE } from "../../../../src/adapters/redis/admission/codes.ts";
import { definitionFields } from "../../../../src/adapters/redis/admission/rebuild.ts";
import { packClaim, unpackClaim } from "../../../../src/adapters/redis/claim-codec.ts";
import { type CampaignKeys, RedisKeys } from "../../../../src/adapters/redis/keys.ts";
import { redisScripts, type Scripts } from "../../../../src/adapters/redis/scripts.ts";
import type { Campaign, Claim } from "../../../../src/domain/types.ts";
import { redisClient, skipWithoutServices, testPrefix } from "../../../helpers/services.ts";
import { eventually } from "../../../helpers/wait.ts";

/**
 * The hold scripts' contracts (confirm-6, release-6, reap-6, mark-written-3,
 * outbox-ack-2, and what admit-9, answer-snapshot-2, retire-5 and
 * forget-user-3 do with holds), return code by return code, on a real Redis.
 */
const skip = await skipWithoutServices();

type Sink = "stream" | "outbox";

interface World {
  redis: Redis;
  scripts: Scripts;
  k: CampaignKeys;
  channel: string;
  /** Opens the campaign as a rebuild would (holds by default: 60 s). */
  open(campaign?: Partial<Campaign>): Promise<void>;
  /** admit-9's reply (lease token dropped), `reap`: ARGV[14]. */
  admit(userId: string, claimId: string, options?: { reap?: number; sink?: Sink }): Promise<unknown[]>;
  confirm(claimId: string, sink?: Sink): Promise<unknown[]>;
  release(claimId: string, sink?: Sink): Promise<unknown[]>;
  reap(limit?: number, sink?: Sink): Promise<unknown[]>;
  markWritten(pairs: [string, string][]): Promise<unknown[]>;
  /** The claim as the claims hash holds it, or undefined. */
  claim(claimId: string): Promise<Claim | undefined>;
  /** Makes a live hold due now (its stored expiresAt in the past), as waiting would. */
  due(claimId: string): Promise<void>;
  state(...fields: string[]): Promise<(string | null)[]>;
  /** The stream's snapshots, oldest first, as their claims. */
  stream(): Promise<Claim[]>;
}

async function world(
  t: { after: (fn: () => void | Promise<void>) => void },
  campaignId = "c1",
): Promise<World> {
  const redis = redisClient(t);
  const keys = new RedisKeys(testPrefix(t, "holds"));
  const scripts = redisScripts(redis);
  const k = keys.campaign(campaignId);
  const channel = `${keys.prefix}:events`;
  let code = 0;
  const holdKeys = (sink: Sink) => [
    k.state,
    k.holders,
    k.claims,
    sink === "stream" ? k.stream : k.outbox,
    k.free,
    k.expiries,
  ];
  return {
    redis,
    scripts,
    k,
    channel,
    async open(campaign = {}) {
      const c: Campaign = {
        id: campaignId,
        name: "n",
        stock: 2,
        perUserLimit: 1,
        startsAt: null,
        endsAt: null,
        createdAt: 1,
        holdSeconds: 60,
        ...campaign,
      };
      assert.equal(
        await scripts.rebuildBegin([k.state, k.holders, k.free, k.expiries], [1, ...definitionFields(c)]),
        1,
      );
      assert.equal(await scripts.rebuildOpen([k.state], [1, 0, 0, 0, "open", 0, 0]), 1);
    },
    async admit(userId, claimId, options = {}) {
      const sink = options.sink ?? "stream";
      const reply = (await scripts.admit(
        [
          k.state,
          k.holders,
          k.claims,
          sink === "stream" ? k.stream : k.outbox,
          k.free,
          k.noIdempotency,
          k.noIdempotency,
          k.noIdempotency,
          k.expiries,
        ],
        [
          campaignId,
          userId,
          claimId,
          `CODE-${++code}`,
          "",
          60,
          sink,
          1000,
          "",
          "",
          "",
          "",
          channel,
          options.reap ?? 32,
        ],
      )) as unknown[];
      return reply.length >= 3 ? [reply[0], reply[1], ...reply.slice(3)] : reply;
    },
    confirm: (claimId, sink = "stream") =>
      scripts.confirm(holdKeys(sink), [claimId, sink, channel]) as Promise<unknown[]>,
    release: (claimId, sink = "stream") =>
      scripts.release(holdKeys(sink), [claimId, sink, channel]) as Promise<unknown[]>,
    reap: (limit = 100, sink = "stream") =>
      scripts.reap(holdKeys(sink), [limit, sink, channel, campaignId]) as Promise<unknown[]>,
    markWritten: (pairs) =>
      scripts.markWritten([k.state, k.claims, k.expiries], pairs.flat()) as Promise<unknown[]>,
    async claim(claimId) {
      const packed = await redis.hget(k.claims, claimId);
      return packed === null ? undefined : unpackClaim(packed);
    },
    async due(claimId) {
      const claim = unpackClaim((await redis.hget(k.claims, claimId))!);
      const past = Date.now() - 10_000;
      await redis.hset(k.claims, claimId, packClaim({ ...claim, expiresAt: past }));
      await redis.zadd(k.expiries, past, claimId);
    },
    state: (...fields) => redis.hmget(k.state, ...fields),
    async stream() {
      const entries = (await redis.xrange(k.stream, "-", "+")) as [string, string[]][];
      return entries.map(([, fields]) => unpackClaim(fields[1]!));
    },
  };
}

const packedOf = (reply: unknown[], at: number) => unpackClaim(String(reply[at]));

test("admit (holds): a pending hold expiring at Redis TIME + holdSeconds, in the expiries; no sold_out published", {
  skip,
}, async (t) => {
  const w = await world(t);
  await w.open({ stock: 1, holdSeconds: 45 });
  const sub = redisClient(t);
  const heard: string[] = [];
  sub.on("message", (_c: string, m: string) => heard.push(m));
  await sub.subscribe(w.channel);
  const reply = await w.admit("u1", "h1");
  assert.equal(reply[0], ADMIT.ADMITTED);
  assert.equal(reply.at(-1), 0, "a hold is not at the limit for good");
  const claim = packedOf(reply, 6);
  assert.equal(String(reply[6]).split("\u001f")[0], "2", "layout 2");
  assert.equal(claim.status, "pending");
  assert.equal(claim.expiresAt, claim.admittedAt + 45_000);
  assert.ok(Math.abs(claim.admittedAt - Date.now()) < 5000);
  assert.equal(Number(await w.redis.zscore(w.k.expiries, "h1")), claim.expiresAt);
  assert.deepEqual(
    (await w.stream()).map((c) => [c.claimId, c.status, c.expiresAt]),
    [["h1", "pending", claim.expiresAt]],
  );
  assert.deepEqual(await w.admit("u2", "h2"), [ADMIT.SOLD_OUT, 0]);
  const again = await w.admit("u1", "h3");
  assert.deepEqual(
    [again[0], again[5], again.at(-1)],
    [ADMIT.ALREADY_CLAIMED, 1, 0],
    "a live hold: not for good",
  );
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(heard, [], "a campaign with holds is never sold out for good");
  // A campaign without holds still writes layout 1 (what older workers read).
  const plain = await world(t, "c2");
  await plain.open({ holdSeconds: null });
  assert.equal(String((await plain.admit("u1", "p1"))[6]).split("\u001f")[0], "1");
  assert.equal(await plain.redis.exists(plain.k.expiries), 0);
});

test("admit (holds): due holds expire before the stock check, so no 410 while one could give its unit back", {
  skip,
}, async (t) => {
  const w = await world(t);
  await w.open({ stock: 1 });
  const sub = redisClient(t);
  const heard: string[] = [];
  sub.on("message", (_c: string, m: string) => heard.push(m));
  await sub.subscribe(w.channel);
  const first = packedOf(await w.admit("u1", "a1"), 6);
  await w.due("a1");
  assert.deepEqual(await w.admit("u2", "a2", { reap: 0 }), [ADMIT.SOLD_OUT, 0], "not reaping: sold out");
  const second = await w.admit("u3", "a3", { reap: 1 });
  assert.equal(second[0], ADMIT.ADMITTED, "reaping one frees its unit first");
  assert.equal(packedOf(second, 6).unit, first.unit, "the same unit, handed out again");
  assert.equal((await w.claim("a1"))?.status, "expired", "readable until the ledger has it");
  assert.deepEqual(await w.state("admitted", "ended"), ["1", "1"]);
  assert.equal(await w.redis.hexists(w.k.holders, "u1"), 0, "the user's slot is free");
  assert.deepEqual(
    (await w.stream()).map((c) => [c.claimId, c.status]),
    [
      ["a1", "pending"],
      ["a1", "expired"],
      ["a3", "pending"],
    ],
  );
  await eventually(() => heard.includes("returned c1"));
});

test("admit (holds): at the limit, the user's own due hold ends first and the user claims again", {
  skip,
}, async (t) => {
  const w = await world(t);
  await w.open({ stock: 3 });
  assert.equal((await w.admit("u1", "o1"))[0], ADMIT.ADMITTED);
  await w.due("o1");
  const again = await w.admit("u1", "o2", { reap: 0 });
  assert.equal(again[0], ADMIT.ADMITTED, JSON.stringify(again));
  assert.equal(packedOf(again, 6).seq, 1, "the slot the expired hold gave back");
  assert.equal((await w.claim("o1"))?.status, "expired");
  assert.deepEqual(await w.state("admitted"), ["1"]);
  // Confirmed and in the ledger: the 409 is for good (atLimit), naming an issued claim.
  assert.equal((await w.confirm("o2"))[0], HOLD.CONFIRMED);
  await w.markWritten([["o2", "issued"]]);
  const held = await w.admit("u1", "o3");
  assert.deepEqual([held[0], held[2], held[5], held.at(-1)], [ADMIT.ALREADY_CLAIMED, "o2", 0, 1]);
});

test("confirm: CONFIRMED before expiresAt (issued snapshot queued in the same step), replayed after", {
  skip,
}, async (t) => {
  const w = await world(t);
  await w.open();
  await w.admit("u1", "c1");
  await w.markWritten([["c1", "held"]]);
  assert.deepEqual(await w.state("held"), ["1"]);
  const reply = await w.confirm("c1");
  assert.deepEqual(reply.slice(0, 2), [HOLD.CONFIRMED, 0]);
  const claim = packedOf(reply, 2);
  assert.equal(claim.status, "issued");
  assert.ok(claim.issuedAt !== undefined && Math.abs(claim.issuedAt - Date.now()) < 5000);
  assert.equal(await w.redis.zscore(w.k.expiries, "c1"), null, "no longer expires");
  assert.deepEqual(
    await w.state("held", "admitted", "issued"),
    ["0", "1", "0"],
    "confirmed, not yet in the ledger",
  );
  assert.deepEqual(
    (await w.stream()).map((c) => [c.status, c.issuedAt]),
    [
      ["pending", undefined],
      ["issued", claim.issuedAt],
    ],
  );
  const again = await w.confirm("c1");
  assert.deepEqual(again.slice(0, 2), [HOLD.CONFIRMED, 1], "a repeat: replayed, nothing queued");
  assert.equal(await w.redis.xlen(w.k.stream), 2);
  assert.equal(await w.reap().then((r) => r.length), 2, "the reaper leaves it alone");
});

test("confirm: HOLD_EXPIRED at or after expiresAt (it expires the hold itself), for an ended hold, and after release", {
  skip,
}, async (t) => {
  const w = await world(t);
  await w.open({ stock: 2 });
  await w.admit("u1", "e1");
  await w.markWritten([["e1", "held"]]);
  await w.due("e1");
  const reply = await w.confirm("e1");
  assert.equal(reply[0], HOLD.HOLD_EXPIRED);
  const ended = packedOf(reply, 1);
  assert.equal(ended.status, "expired");
  assert.ok(ended.endedAt !== undefined && ended.endedAt >= ended.expiresAt!);
  assert.deepEqual(await w.state("admitted", "held", "ended"), ["0", "0", "1"]);
  assert.deepEqual(await w.redis.lrange(w.k.free, 0, -1), [String(ended.unit)], "its unit is back");
  assert.equal((await w.stream()).at(-1)?.status, "expired");
  assert.equal((await w.confirm("e1"))[0], HOLD.HOLD_EXPIRED, "and stays expired");
  assert.equal((await w.reap())[0], REAP.OK);
  assert.equal(await w.redis.xlen(w.k.stream), 2, "expired once");

  await w.admit("u2", "r1");
  assert.equal((await w.release("r1"))[0], HOLD.RELEASED);
  assert.equal((await w.confirm("r1"))[0], HOLD.HOLD_EXPIRED, "released first");
});

test("confirm and release: NOT_A_HOLD, GONE, NOT_FOUND, REBUILDING, UNREADABLE", { skip }, async (t) => {
  const w = await world(t);
  const plain = await world(t, "c2");
  await plain.open({ holdSeconds: null });
  // NOT_FOUND: this campaign has no state yet.
  assert.deepEqual(await w.confirm("x1"), [HOLD.NOT_FOUND]);
  assert.deepEqual(await w.release("x1"), [HOLD.NOT_FOUND]);
  await w.open();
  assert.deepEqual(await w.confirm("nope"), [HOLD.GONE]);
  assert.deepEqual(await w.release("nope"), [HOLD.GONE]);
  await plain.admit("u1", "p1");
  const k2 = plain.k;
  const plainKeys = [k2.state, k2.holders, k2.claims, k2.stream, k2.free, k2.expiries];
  const notHold = (await plain.scripts.confirm(plainKeys, ["p1", "stream", ""])) as unknown[];
  assert.equal(notHold[0], HOLD.NOT_A_HOLD);
  assert.equal(packedOf(notHold, 1).claimId, "p1");
  assert.equal(
    ((await plain.scripts.release(plainKeys, ["p1", "stream", ""])) as unknown[])[0],
    HOLD.NOT_A_HOLD,
  );
  await w.redis.hset(w.k.claims, "future", "3\u001fwhatever");
  assert.deepEqual(await w.confirm("future"), [HOLD.UNREADABLE]);
  assert.deepEqual(await w.release("future"), [HOLD.UNREADABLE]);
  await w.admit("u1", "b1");
  await w.redis.hset(w.k.state, "status", "rebuilding");
  assert.deepEqual(await w.confirm("b1"), [HOLD.REBUILDING]);
  assert.deepEqual(await w.release("b1"), [HOLD.REBUILDING]);
  assert.deepEqual(await w.reap(), [REAP.REBUILDING]);
  assert.equal((await w.claim("b1"))?.status, "pending", "nothing changed");
});

test("release: RELEASED (unit and slot back at once, released snapshot queued), replayed; ALREADY_CONFIRMED; HOLD_EXPIRED", {
  skip,
}, async (t) => {
  const w = await world(t);
  await w.open({ stock: 1 });
  await w.admit("u1", "r1");
  await w.markWritten([["r1", "held"]]);
  const reply = await w.release("r1");
  assert.deepEqual(reply.slice(0, 2), [HOLD.RELEASED, 0]);
  const released = packedOf(reply, 2);
  assert.equal(released.status, "released");
  assert.ok(released.endedAt !== undefined && released.endedAt < released.expiresAt!);
  assert.deepEqual(await w.state("admitted", "held", "ended"), ["0", "0", "1"]);
  assert.equal(await w.redis.zscore(w.k.expiries, "r1"), null);
  assert.equal((await w.stream()).at(-1)?.status, "released");
  assert.deepEqual((await w.release("r1")).slice(0, 2), [HOLD.RELEASED, 1]);
  assert.equal(await w.redis.xlen(w.k.stream), 2, "a repeat queues nothing");
  const next = await w.admit("u1", "r2");
  assert.equal(next[0], ADMIT.ADMITTED, "the same user claims again, at once");
  assert.equal(packedOf(next, 6).unit, released.unit);

  assert.equal((await w.confirm("r2"))[0], HOLD.CONFIRMED);
  const confirmed = await w.release("r2");
  assert.equal(confirmed[0], HOLD.ALREADY_CONFIRMED);
  assert.equal(packedOf(confirmed, 1).status, "issued");

  const e = await world(t, "c3");
  await e.open({ stock: 1 });
  await e.admit("u1", "x1");
  await e.due("x1");
  const late = await e.release("x1");
  assert.equal(late[0], HOLD.HOLD_EXPIRED, "due: it expires, it is not released");
  assert.equal(packedOf(late, 1).status, "expired");
  assert.equal((await e.release("x1"))[0], HOLD.HOLD_EXPIRED);
});

test("reap: expires due holds only, in batches, and says when the next is due; publishes returned", {
  skip,
}, async (t) => {
  const w = await world(t);
  await w.open({ stock: 5 });
  const sub = redisClient(t);
  const heard: string[] = [];
  sub.on("message", (_c: string, m: string) => heard.push(m));
  await sub.subscribe(w.channel);
  assert.deepEqual(await w.reap(), [REAP.OK, ""], "no holds: nothing due, none to come");
  for (const id of ["d1", "d2", "d3", "live"]) await w.admit(`u-${id}`, id);
  await w.markWritten([["d2", "held"]]);
  for (const id of ["d1", "d2", "d3"]) await w.due(id);
  const live = await w.claim("live");
  const first = await w.reap(2);
  assert.equal(first[0], REAP.OK);
  assert.equal(first.length, 4, "two expired in this call");
  const second = await w.reap(2);
  assert.equal(second.length, 3, "then the third");
  assert.equal(Number(second[1]), live?.expiresAt, "the next due");
  const expired = [...first.slice(2), ...second.slice(2)].map((p) => unpackClaim(String(p)));
  assert.deepEqual(
    expired.map((c) => c.status),
    ["expired", "expired", "expired"],
  );
  assert.deepEqual(await w.state("admitted", "held", "ended"), ["1", "0", "3"]);
  assert.equal(await w.redis.llen(w.k.free), 3);
  assert.deepEqual(await w.reap(), [REAP.OK, String(live?.expiresAt)], "nothing due");
  await eventually(() => heard.includes("returned c1"));

  // A stale entry (its claim no longer a live hold) just leaves.
  await w.redis.zadd(w.k.expiries, 1, "d1");
  assert.deepEqual(await w.reap(), [REAP.OK, String(live?.expiresAt)]);
  assert.equal(await w.redis.zscore(w.k.expiries, "d1"), null);

  const none = await world(t, "c9");
  assert.deepEqual(await none.reap(), [REAP.NOT_FOUND]);
});

test("hold scripts in outbox mode: each decision adds the claim to the outbox, not the stream", {
  skip,
}, async (t) => {
  const w = await world(t);
  await w.open({ stock: 3 });
  await w.admit("u1", "k1", { sink: "outbox" });
  await w.admit("u2", "k2", { sink: "outbox" });
  await w.admit("u3", "k3", { sink: "outbox" });
  await w.redis.del(w.k.outbox);
  assert.equal((await w.confirm("k1", "outbox"))[0], HOLD.CONFIRMED);
  assert.equal((await w.release("k2", "outbox"))[0], HOLD.RELEASED);
  await w.due("k3");
  assert.equal((await w.reap(10, "outbox")).length, 3);
  assert.deepEqual((await w.redis.zrange(w.k.outbox, "0", "-1")).sort(), ["k1", "k2", "k3"]);
  assert.equal(await w.redis.exists(w.k.stream), 0);
});

test("mark-written: held counts once, issued and ended leave the claims hash once, contradictions are refused", {
  skip,
}, async (t) => {
  const w = await world(t);
  await w.open({ stock: 5 });
  for (const id of ["m1", "m2", "m3", "m4"]) await w.admit(`u-${id}`, id);
  assert.deepEqual(
    await w.markWritten([
      ["m1", "held"],
      ["m2", "held"],
      ["m3", "held"],
      ["m1", "held"],
    ]),
    [MARK_WRITTEN.OK, 0, 3, 0, 0],
  );
  assert.deepEqual(await w.markWritten([["m1", "held"]]), [MARK_WRITTEN.OK, 0, 0, 0, 0], "a redelivery");
  assert.equal((await w.claim("m1"))?.status, "held");
  assert.deepEqual(await w.state("held"), ["3"]);

  await w.confirm("m1"); // held -> confirmed: leaves `held` at once
  await w.release("m2"); // held -> released
  assert.deepEqual(await w.state("held", "admitted", "ended"), ["1", "3", "1"]);
  assert.deepEqual(
    await w.markWritten([
      ["m1", "issued"],
      ["m2", "released"],
      ["m3", "issued"], // a held one issued (the ledger had its confirmation): leaves held and the expiries
      ["m4", "expired"], // Redis holds it live: refused, kept
    ]),
    [MARK_WRITTEN.OK, 2, 0, 1, 1],
  );
  assert.deepEqual(await w.state("held", "issued", "ended", "admitted"), ["0", "2", "0", "3"]);
  assert.equal(await w.claim("m1"), undefined);
  assert.equal(await w.claim("m2"), undefined);
  assert.equal(await w.redis.zscore(w.k.expiries, "m3"), null);
  assert.equal((await w.claim("m4"))?.status, "pending");
  assert.deepEqual(
    await w.markWritten([
      ["m1", "issued"],
      ["m2", "released"],
    ]),
    [MARK_WRITTEN.OK, 0, 0, 0, 0],
    "redelivered: gone, nothing counted twice",
  );

  await w.release("m4");
  assert.deepEqual(
    await w.markWritten([["m4", "issued"]]),
    [MARK_WRITTEN.OK, 0, 0, 0, 1],
    "issued for a released hold",
  );
  assert.deepEqual(await w.markWritten([["m4", "expired"]]), [MARK_WRITTEN.OK, 0, 0, 0, 1], "the other end");
  assert.equal((await w.claim("m4"))?.status, "released");
});

test("outbox-ack: an acknowledged snapshot removes its claim's entry unless a newer decision waits", {
  skip,
}, async (t) => {
  const w = await world(t);
  await w.open({ stock: 5 });
  const ack = (pairs: [string, string][]) =>
    w.scripts.outboxAck([w.k.outbox, w.k.claims], pairs.flat()) as Promise<number>;
  for (const id of ["o1", "o2", "o3"]) await w.admit(`u-${id}`, id, { sink: "outbox" });
  assert.equal(await ack([["o1", "p"]]), 1, "pending acknowledged, nothing newer");
  await w.confirm("o2", "outbox");
  assert.equal(await ack([["o2", "p"]]), 0, "the confirmation is still to be sent");
  assert.equal(await ack([["o2", "c"]]), 1);
  await w.markWritten([["o3", "held"]]);
  assert.equal(await ack([["o3", "p"]]), 1, "held in the ledger counts as pending");
  await w.redis.zadd(w.k.outbox, 1, "gone");
  assert.equal(await ack([["gone", "p"]]), 1, "a claim the ledger holds final leaves");
  assert.equal(await w.redis.zcard(w.k.outbox), 0);
});

test("answer-snapshot, retire and forget-user with holds", { skip }, async (t) => {
  const w = await world(t);
  await w.open({ stock: 1 });
  const snapshot = () => w.scripts.answerSnapshot([w.k.state, w.k.holders], [100]) as Promise<unknown[]>;
  await w.admit("u1", "s1");
  assert.deepEqual(await snapshot(), [0], "sold out with holds: never answered from memory");
  await w.redis.hset(w.k.state, "status", "closed");
  assert.equal((await snapshot())[2], "closed", "a 403 is");
  await w.redis.hset(w.k.state, "status", "open");

  const retire = () =>
    w.scripts.retire([w.k.state, w.k.holders, w.k.stream, w.k.outbox, w.k.free], [1000]) as Promise<number[]>;
  await w.redis.hset(w.k.state, "endsAt", Date.now() - 1000);
  assert.equal((await retire())[0], RETIRE.DRAINING, "a live hold");
  await w.release("s1");
  assert.deepEqual(await w.state("admitted", "issued", "ended"), ["0", "0", "1"]);
  assert.equal((await retire())[0], RETIRE.DRAINING, "its end is not in the ledger yet");
  const forget = (user: string) =>
    w.scripts.forgetUser([w.k.state, w.k.holders, w.k.claims], [user, "erased:"]) as Promise<number[]>;
  assert.deepEqual(await forget("u1"), [1], "an ended hold on its way to the ledger may be the user's");
  await w.markWritten([["s1", "released"]]);
  assert.deepEqual(await forget("u1"), [0, 0]);
  assert.equal((await retire())[0], RETIRE.EXPIRING);
});
