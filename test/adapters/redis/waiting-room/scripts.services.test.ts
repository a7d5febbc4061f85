import assert from "node:assert/strict";
import { createHmac, randomBytes } from "node:crypto";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { Redis } from "ioredis";
import { ADMIT } from "../../../../src/adapters/redis/admission/codes.ts";
import { definitionFields } from "../../../../src/adapters/redis/admission/rebuild.ts";
import { type CampaignKeys, RedisKeys } from "../../../../src/adapters/redis/keys.ts";
import { redisScripts, type Scripts } from "../../../../src/adapters/redis/scripts.ts";
import { ROOM } from "../../../../src/adapters/redis/waiting-room/codes.ts";
import type { Campaign } from "../../../../src/domain/types.ts";
import { redisClient, skipWithoutServices, testPrefix } from "../../../helpers/services.ts";

/**
 * The waiting room's scripts (room-join-5, room-ticket-3, room-release-8,
 * room-draw-2), return code by return code, on a real Redis; the store
 * around them: test/contracts/waiting-room.ts.
 */
const skip = await skipWithoutServices();

const SEED = "11".repeat(32);
const KEY = "22".repeat(32);
const HOUR = 3_600_000;
const draw = (user: string) =>
  createHmac("sha256", Buffer.from(SEED, "hex")).update(user, "utf8").digest("hex");
/** A ticket id (without the tag) for a user, as the store derives it. */
const idOf = (user: string) =>
  createHmac("sha256", Buffer.from(KEY, "hex")).update(user).digest().subarray(0, 16).toString("base64url");

interface Setup {
  redis: Redis;
  scripts: Scripts;
  k: CampaignKeys;
  open(campaign?: Partial<Campaign>): Promise<void>;
  /** `rate`: the user's bucket; `ipRate`: one address's bucket, shared by every user. */
  join(
    user: string,
    options?: { key?: string; rate?: [number, number]; ipRate?: [number, number] },
  ): Promise<unknown[]>;
  ticket(user: string): Promise<unknown[]>;
  release(max: number, options?: { burstMs?: number; channel?: string }): Promise<Released>;
}

interface Released {
  code: number;
  soldOut: number;
  served: number;
  tickets: { id: string; code: number; claimId: string; packed: string; userId: string }[];
  expired: number;
}

let counter = 0;
async function setup(t: { after: (fn: () => void | Promise<void>) => void }, id = "c1"): Promise<Setup> {
  const redis = redisClient(t);
  const keys = new RedisKeys(testPrefix(t, "room"));
  const scripts = redisScripts(redis);
  const k = keys.campaign(id);
  return {
    redis,
    scripts,
    k,
    async open(campaign = {}) {
      const c: Campaign = {
        id,
        name: "n",
        stock: 3,
        perUserLimit: 1,
        startsAt: Date.now() + HOUR,
        endsAt: null,
        createdAt: 1,
        waitingRoom: { prequeueSeconds: 2 * 3600, seed: SEED, commitment: "c" },
        ...campaign,
      };
      assert.equal(
        await scripts.rebuildBegin([k.state, k.holders, k.free, k.expiries], [1, ...definitionFields(c)]),
        1,
      );
      assert.equal(await scripts.rebuildOpen([k.state], [1, 0, 0, 0, "open"]), 1);
    },
    async join(user, options = {}) {
      return (await scripts.roomJoin(
        [
          k.state,
          k.line,
          k.tickets,
          options.rate ? k.rateUser(user) : k.noIdempotency,
          options.ipRate ? k.rateIp("192.0.2.1") : k.noIdempotency,
        ],
        [
          id,
          user,
          idOf(user),
          options.key ?? KEY,
          Buffer.from(draw(user).slice(0, 32), "hex"),
          options.rate?.[0] ?? "",
          options.rate?.[1] ?? "",
          options.ipRate?.[0] ?? "",
          options.ipRate?.[1] ?? "",
        ],
      )) as unknown[];
    },
    async ticket(user) {
      return (await scripts.roomTicket([k.state, k.line, k.tickets], [idOf(user)])) as unknown[];
    },
    async release(max, options = {}) {
      const ids = Array.from({ length: max }, () => `tag${randomBytes(8).toString("hex")}`);
      const coupons = Array.from({ length: max }, () => `CODE-${++counter}`);
      const reply = (await scripts.roomRelease(
        [k.state, k.holders, k.claims, k.stream, k.free, k.expiries, k.line, k.tickets],
        [id, max, "stream", 1000, "", options.channel ?? "", 32, options.burstMs ?? 200, ...ids, ...coupons],
      )) as (string | number)[];
      if (reply[0] !== ROOM.OK)
        return { code: Number(reply[0]), soldOut: 0, served: 0, tickets: [], expired: 0 };
      const tickets: Released["tickets"] = [];
      for (let i = 0; i < Number(reply[3]); i++) {
        const [tid, code, claimId, packed, userId] = reply.slice(7 + i * 7, 14 + i * 7);
        tickets.push({
          id: String(tid),
          code: Number(code),
          claimId: String(claimId),
          packed: String(packed),
          userId: String(userId),
        });
      }
      return {
        code: 0,
        soldOut: Number(reply[1]),
        served: Number(reply[2]),
        tickets,
        expired: Number(reply[4]),
      };
    },
  };
}

/** The script's view without `now` (last): status, position, prequeued, userId, joinedAt, claimId. */
const view = (reply: unknown[]) => reply.slice(1, 7);
const started = (s: Setup) => s.redis.hset(s.k.state, "startsAt", String(Date.now() - 1000));

test("join: NOT_FOUND, NO_ROOM, before the pre-queue opens, ended, paused, closed", { skip }, async (t) => {
  const s = await setup(t);
  assert.deepEqual(await s.join("u1"), [ROOM.NOT_FOUND]);
  await s.open({ waitingRoom: null });
  assert.deepEqual(await s.join("u1"), [ROOM.NO_ROOM]);
  const r = await setup(t, "c2");
  await r.open({ startsAt: Date.now() + 3 * HOUR });
  assert.deepEqual(await r.join("u1"), [ROOM.NOT_ACTIVE, "not_started"]);
  await r.redis.hset(r.k.state, "startsAt", Date.now() - 2 * HOUR, "endsAt", Date.now() - HOUR);
  assert.deepEqual(await r.join("u1"), [ROOM.NOT_ACTIVE, "ended"]);
  await r.redis.hset(r.k.state, "endsAt", "", "status", "paused");
  assert.deepEqual(await r.join("u1"), [ROOM.NOT_ACTIVE, "paused"]);
  await r.redis.hset(r.k.state, "status", "closed");
  assert.deepEqual(await r.join("u1"), [ROOM.NOT_ACTIVE, "closed"]);
  assert.equal(await r.redis.exists(r.k.line), 0, "nothing written");
});

test("join: pre-queue tickets stand in drawValue order without a position; later ones behind, in arrival order", {
  skip,
}, async (t) => {
  const s = await setup(t);
  await s.open();
  const early = Array.from({ length: 50 }, (_, i) => `early-${i}`);
  for (const user of early) {
    const reply = await s.join(user);
    assert.equal(reply[0], ROOM.JOINED);
    assert.deepEqual(view(reply).slice(0, 4), ["w", -1, 1, user], "waiting, no position, pre-queued");
  }
  await started(s);
  const late = ["late-b", "late-a", "late-c"];
  for (const [i, user] of late.entries()) {
    const reply = await s.join(user);
    assert.deepEqual(view(reply).slice(0, 4), ["w", 51 + i, 0, user], "behind the pre-queue, by arrival");
  }
  const drawOrder = [...early].sort((a, b) => (draw(a) < draw(b) ? -1 : 1));
  const members = (await s.redis.zrangeBuffer(s.k.line, "0", "-1")).map((m) => m.subarray(-22).toString());
  assert.deepEqual(
    members,
    [...drawOrder, ...late].map((u) => idOf(u)),
  );
  for (const [i, user] of drawOrder.entries()) assert.equal((await s.ticket(user))[2], i + 1);
  // The draw page: the pre-queue's userIds in draw order, and nothing of the later ones.
  assert.deepEqual(await s.scripts.roomDraw([s.k.line, s.k.tickets], [0, 30]), drawOrder.slice(0, 30));
  assert.deepEqual(await s.scripts.roomDraw([s.k.line, s.k.tickets], [30, 30]), drawOrder.slice(30));
  assert.deepEqual(await s.redis.hmget(s.k.state, "roomJoined", "roomPrequeued", "roomSeq"), [
    "53",
    "50",
    "3",
  ]);
});

test("join: the same user again gets the same ticket (EXISTING); another key is refused with the current one", {
  skip,
}, async (t) => {
  const s = await setup(t);
  await s.open();
  const first = await s.join("alice");
  assert.equal(first[0], ROOM.JOINED);
  const again = await s.join("alice");
  assert.equal(again[0], ROOM.EXISTING);
  assert.deepEqual(view(again), view(first));
  assert.deepEqual(await s.join("bob", { key: "33".repeat(32) }), [ROOM.KEY_CHANGED, KEY]);
  assert.equal(await s.redis.zcard(s.k.line), 1);
  assert.equal(await s.redis.hget(s.k.state, "roomKey"), KEY);
});

test("join: rate limited like a claim (the same buckets); a refusal writes nothing; a repeat join is answered before the limits", {
  skip,
}, async (t) => {
  const s = await setup(t);
  await s.open();
  const rates: { rate: [number, number]; ipRate: [number, number] } = {
    rate: [60_000, 1],
    ipRate: [60_000, 1],
  };
  assert.equal((await s.join("u1", rates))[0], ROOM.JOINED);
  assert.equal((await s.join("u1", rates))[0], ROOM.EXISTING, "the user's ticket, known: never 429");
  const limited = await s.join("u2", rates);
  assert.equal(limited[0], ROOM.RATE_LIMITED, "the address's bucket is spent");
  assert.ok(Number(limited[1]) > 50_000);
  assert.equal(await s.redis.zcard(s.k.line), 1);
  assert.equal((await s.join("u2", { rate: [60_000, 1] }))[0], ROOM.JOINED, "the refusal counted nothing");
});

test("ticket: NOT_FOUND, NO_ROOM, NO_TICKET; now is Redis TIME", { skip }, async (t) => {
  const s = await setup(t);
  assert.deepEqual(await s.ticket("u1"), [ROOM.NOT_FOUND]);
  await s.open();
  assert.deepEqual(await s.ticket("u1"), [ROOM.NO_TICKET]);
  await s.join("u1");
  const reply = await s.ticket("u1");
  assert.equal(reply[0], ROOM.OK);
  assert.ok(Math.abs(Number(reply[7]) - Date.now()) < 5000);
});

test("release: nothing before startsAt; then admits from the head in order, as claims, and positions fall", {
  skip,
}, async (t) => {
  const s = await setup(t);
  await s.open({ stock: 10 });
  const users = Array.from({ length: 8 }, (_, i) => `u${i}`);
  for (const user of users) await s.join(user);
  assert.deepEqual(await s.release(5), { code: 0, soldOut: 0, served: 0, tickets: [], expired: 0 });
  await started(s);
  const order = [...users].sort((a, b) => (draw(a) < draw(b) ? -1 : 1));
  const last = order.at(-1)!;
  assert.equal((await s.ticket(last))[2], 8);
  const first = await s.release(3);
  assert.deepEqual(
    first.tickets.map((r) => [r.userId, r.code]),
    order.slice(0, 3).map((u) => [u, 1]),
  );
  assert.equal(first.served, 3);
  assert.equal((await s.ticket(last))[2], 5, "position fell by 3");
  // Each release is a claim: in the claims hash, the stream, the holders; the ticket names it.
  for (const r of first.tickets) {
    assert.ok(await s.redis.hget(s.k.claims, r.claimId));
    assert.ok(await s.redis.hget(s.k.holders, r.userId));
    const ticket = await s.ticket(r.userId);
    assert.deepEqual([ticket[1], ticket[2], ticket[6]], ["a", -1, r.claimId]);
  }
  assert.equal(await s.redis.xlen(s.k.stream), 3);
  assert.equal(await s.redis.hget(s.k.state, "admitted"), "3");
  const rest = await s.release(100);
  assert.deepEqual(
    rest.tickets.map((r) => r.userId),
    order.slice(3),
  );
  assert.equal(rest.soldOut, 0, "stock left");
  assert.deepEqual(await s.release(100), { code: 0, soldOut: 0, served: 8, tickets: [], expired: 0 });
});

test("release: a user who already holds a claim is released with that claim (what the 409 names)", {
  skip,
}, async (t) => {
  const s = await setup(t);
  await s.open({ stock: 5, startsAt: null });
  await s.redis.hset(s.k.state, "startsAt", String(Date.now() + HOUR));
  await s.join("alice");
  await started(s);
  // Alice's claim from elsewhere (the campaign before its room, say): admit-9 directly.
  const claim = (await s.scripts.admit(
    [
      s.k.state,
      s.k.holders,
      s.k.claims,
      s.k.stream,
      s.k.free,
      s.k.noIdempotency,
      s.k.noIdempotency,
      s.k.noIdempotency,
      s.k.expiries,
    ],
    ["c1", "alice", "tagalice-claim-1", "CODE", "", 3600, "stream", 1000, "", "", "", "", "", 32],
  )) as unknown[];
  assert.equal(claim[0], ADMIT.ADMITTED);
  const released = await s.release(5);
  assert.deepEqual(
    released.tickets.map((r) => [r.userId, r.code, r.claimId]),
    [["alice", ADMIT.ALREADY_CLAIMED, "tagalice-claim-1"]],
  );
  assert.equal(await s.redis.hget(s.k.state, "admitted"), "1", "no second unit");
});

test("release: sold out marks the line hopeless at once (every waiting ticket reads sold_out); a stock raise clears it", {
  skip,
}, async (t) => {
  const s = await setup(t);
  await s.open({ stock: 2 });
  for (const user of ["a", "b", "c", "d"]) await s.join(user);
  await started(s);
  const released = await s.release(10);
  assert.equal(released.tickets.length, 2);
  assert.equal(released.soldOut, 1);
  const views = await Promise.all(["a", "b", "c", "d"].map(async (u) => [u, await s.ticket(u)] as const));
  const waiting = views.filter(([, r]) => r[1] !== "a");
  assert.deepEqual(
    waiting.map(([, r]) => [r[1], r[2]]),
    [
      ["s", -1],
      ["s", -1],
    ],
  );
  // A join to a hopeless line is refused (410), no ticket written; a repeat of one still finds it.
  assert.deepEqual(await s.join("e"), [ROOM.SOLD_OUT]);
  assert.equal(await s.redis.zcard(s.k.line), 4);
  assert.equal((await s.join(waiting[0]![0]))[0], ROOM.EXISTING);
  assert.deepEqual((await s.release(10)).tickets, []);
  // A lifecycle change (change-campaign-5.lua) bumps the revision: the mark no longer holds.
  const change = (await s.scripts.changeCampaign(
    [s.k.state, s.k.holders, s.k.stream, s.k.outbox, s.k.free],
    ["apply", "", 4, ""],
  )) as unknown[];
  assert.equal(change[0], 1);
  assert.equal((await s.ticket(waiting[0]![0]))[1], "w");
  assert.equal((await s.join("e"))[0], ROOM.JOINED, "the line takes joins again");
  const more = await s.release(10);
  assert.equal(more.tickets.length, 2);
  assert.equal(more.soldOut, 1);
  assert.equal((await s.ticket("e"))[1], "s", "the last one, still hopeless");
});

test("release: paused releases nothing and is not hopeless; closed is", { skip }, async (t) => {
  const s = await setup(t);
  await s.open({ stock: 2 });
  await s.join("a");
  await started(s);
  await s.redis.hset(s.k.state, "status", "paused");
  assert.deepEqual(await s.release(10), { code: 0, soldOut: 0, served: 0, tickets: [], expired: 0 });
  await s.redis.hset(s.k.state, "status", "closed");
  assert.equal((await s.release(10)).soldOut, 1);
  assert.equal((await s.ticket("a"))[1], "s");
});

test("release: with holds, a live hold keeps the line hopeful; its expiry releases the next ticket", {
  skip,
}, async (t) => {
  const s = await setup(t);
  await s.open({ stock: 1, holdSeconds: 1 });
  for (const user of ["a", "b", "c"]) await s.join(user);
  await started(s);
  const order = ["a", "b", "c"].sort((x, y) => (draw(x) < draw(y) ? -1 : 1));
  const first = await s.release(10);
  assert.deepEqual(
    first.tickets.map((r) => r.userId),
    [order[0]],
  );
  assert.equal(first.soldOut, 0, "the hold may expire");
  assert.equal((await s.ticket(order[1]!))[1], "w");
  await sleep(1100);
  const second = await s.release(10);
  assert.equal(second.expired, 1, "the due hold expired first, as admit-9 does");
  assert.deepEqual(
    second.tickets.map((r) => r.userId),
    [order[1]],
  );
  assert.equal((await s.redis.hget(s.k.claims, first.tickets[0]!.claimId))?.split("\u001f")[9], "x");
});

test("release: releasePerSecond is one token bucket in the state hash, shared by every caller", {
  skip,
}, async (t) => {
  const s = await setup(t);
  await s.open({
    stock: 1000,
    waitingRoom: { prequeueSeconds: 7200, releasePerSecond: 10, seed: SEED, commitment: "c" },
  });
  for (let i = 0; i < 40; i++) await s.join(`u${i}`);
  await started(s);
  // A full bucket first: burstMs 200 of 10/s = 2.
  assert.equal((await s.release(100)).tickets.length, 2);
  assert.equal((await s.release(100)).tickets.length, 0, "spent");
  const from = Date.now();
  let total = 0;
  while (Date.now() - from < 1000) {
    total += (await s.release(100)).tickets.length;
    await sleep(20);
  }
  assert.ok(total >= 8 && total <= 12, `about 10 in a second: ${total}`);
});

test("release: the line's keys take the state's expiry (retention) and lose it with the state's", {
  skip,
}, async (t) => {
  const s = await setup(t);
  await s.open();
  await s.join("a");
  const at = Date.now() + HOUR;
  await s.redis.pexpireat(s.k.state, at);
  await s.release(1);
  assert.equal(await s.redis.pexpiretime(s.k.line), at);
  assert.equal(await s.redis.pexpiretime(s.k.tickets), at);
  await s.redis.persist(s.k.state);
  await s.release(1);
  assert.equal(await s.redis.pexpiretime(s.k.line), -1);
});

test("release: publishes moved and sold_out on the room events channel", { skip }, async (t) => {
  const s = await setup(t);
  await s.open({ stock: 1 });
  await s.join("a");
  await s.join("b");
  await started(s);
  const sub = redisClient(t);
  const channel = `${s.k.state}:events`;
  const messages: string[] = [];
  sub.on("message", (_c: string, m: string) => messages.push(m));
  await sub.subscribe(channel);
  await s.release(5, { channel });
  await sleep(100);
  assert.deepEqual(messages, ["moved c1", "sold_out c1"]);
});
