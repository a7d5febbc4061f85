import assert from "node:assert/strict";
import { createHash, createHmac, randomBytes } from "node:crypto";
import { type TestContext, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { parseRate, type RateLimitOptions } from "../../src/domain/rate-policy.ts";
import type { Campaign, Ticket } from "../../src/domain/types.ts";
import type { AdmissionStore, AdmitOutcome } from "../../src/ports/admission.ts";
import type { JoinOutcome, TicketView, WaitingRoomStore } from "../../src/ports/waiting-room.ts";

/**
 * What every WaitingRoomStore must do (docs/api.md "Waiting room"), run
 * against each adapter: RedisWaitingRoom (waiting-room.redis.services.test.ts)
 * and the embedded one. Only the port's behaviour is checked; the mode's
 * clock is its own (Redis TIME, the process's), so a campaign opens a
 * moment after it is created (LEAD_MS) and the tests wait for it.
 */
export interface WaitingRoomHarness {
  room: WaitingRoomStore;
  /** The admission store the room admits through (the same mode's). */
  admission: AdmissionStore;
  /** Makes a campaign (with its waitingRoom, seed and commitment) known as the app does. */
  create(campaign: Campaign): Promise<void>;
}

export interface WaitingRoomHarnessOptions {
  /** The rate limits joins share with claims (RATE_LIMIT_USER / RATE_LIMIT_IP). */
  rateLimit?: RateLimitOptions;
}

export type OpenWaitingRoom = (
  t: TestContext,
  options?: WaitingRoomHarnessOptions,
) => Promise<WaitingRoomHarness>;

/** How long after its creation a contract campaign opens: the pre-queue's time. */
export const LEAD_MS = 1500;

export function roomCampaign(
  overrides: Partial<Campaign> = {},
  room: { releasePerSecond?: number; prequeueSeconds?: number } = {},
): Campaign {
  const seed = randomBytes(32).toString("hex");
  return {
    id: `r-${randomBytes(5).toString("hex")}`,
    name: "room contract",
    stock: 100,
    perUserLimit: 1,
    startsAt: Date.now() + LEAD_MS,
    endsAt: null,
    createdAt: Date.now(),
    waitingRoom: {
      prequeueSeconds: room.prequeueSeconds ?? 3600,
      releasePerSecond: room.releasePerSecond ?? null,
      seed,
      commitment: createHash("sha256").update(Buffer.from(seed, "hex")).digest("hex"),
    },
    ...overrides,
  };
}

/** docs/api.md "The draw": hex HMAC-SHA256(key = the seed's 32 bytes, message = the UTF-8 userId). */
export const drawValueOf = (campaign: Campaign, userId: string): string =>
  createHmac("sha256", Buffer.from(campaign.waitingRoom!.seed, "hex")).update(userId, "utf8").digest("hex");

/** The users in draw order (ascending drawValue). */
export const inDrawOrder = (campaign: Campaign, users: readonly string[]): string[] =>
  [...users].sort((a, b) => (drawValueOf(campaign, a) < drawValueOf(campaign, b) ? -1 : 1));

export const untilOpen = (campaign: Campaign) => sleep(Math.max(0, campaign.startsAt! - Date.now() + 50));

export function ticketOf(outcome: JoinOutcome, kind: "joined" | "existing" = "joined"): TicketView {
  assert.equal(outcome.kind, kind, JSON.stringify(outcome));
  return (outcome as { ticket: TicketView }).ticket;
}

/** A random order (Fisher-Yates). */
export function shuffled<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Releases until the room releases nothing more; the admitted tickets in release order. */
export async function releaseAll(room: WaitingRoomStore, campaignId: string, max = 7): Promise<Ticket[]> {
  const out: Ticket[] = [];
  for (;;) {
    const { admitted } = await room.release(campaignId, max);
    if (admitted.length === 0) return out;
    out.push(...admitted);
  }
}

const claimOf = (o: AdmitOutcome) => {
  assert.equal(o.kind, "admitted", JSON.stringify(o));
  return (o as { claim: { claimId: string } }).claim;
};

export function waitingRoomContract(name: string, open: OpenWaitingRoom, skip: string | false = false): void {
  const it = (title: string, fn: (t: TestContext) => Promise<void>) =>
    test(`${name}: waiting room: ${title}`, { skip }, fn);

  it("unknown campaign, campaign without a room, before the pre-queue opens, unknown ticket", async (t) => {
    const { room, create } = await open(t);
    assert.deepEqual(await room.join({ campaignId: "never-created", userId: "u" }), {
      kind: "campaign_not_found",
    });
    const plain = roomCampaign({ waitingRoom: null });
    await create(plain);
    assert.deepEqual(await room.join({ campaignId: plain.id, userId: "u" }), { kind: "no_waiting_room" });
    const later = roomCampaign({ startsAt: Date.now() + 3 * 3600_000 }, { prequeueSeconds: 3600 });
    await create(later);
    assert.deepEqual(await room.join({ campaignId: later.id, userId: "u" }), {
      kind: "not_active",
      reason: "not_started",
    });
    assert.equal(await room.ticket(later.id, "A".repeat(33)), undefined);
    assert.deepEqual(await room.stats(later.id), { waiting: 0, prequeued: 0, admitted: 0, soldOut: false });
  });

  it("the same user again gets the same ticket, before and after startsAt; no position before it", async (t) => {
    const { room, create } = await open(t);
    const c = roomCampaign();
    await create(c);
    const first = ticketOf(await room.join({ campaignId: c.id, userId: "alice" }));
    assert.deepEqual(
      [first.campaignId, first.userId, first.status, first.prequeued, first.position, first.ahead],
      [c.id, "alice", "waiting", true, null, null],
    );
    assert.ok(first.ticketId.length >= 16, first.ticketId);
    assert.equal(first.drawValue, undefined, "the seed is not revealed yet");
    const again = ticketOf(await room.join({ campaignId: c.id, userId: "alice" }), "existing");
    assert.equal(again.ticketId, first.ticketId);
    const bob = ticketOf(await room.join({ campaignId: c.id, userId: "bob" }));
    assert.notEqual(bob.ticketId, first.ticketId);
    await untilOpen(c);
    const after = ticketOf(await room.join({ campaignId: c.id, userId: "alice" }), "existing");
    assert.equal(after.ticketId, first.ticketId);
    assert.equal(after.drawValue, drawValueOf(c, "alice"), "revealed from startsAt");
    assert.ok(after.position === 1 || after.position === 2);
    assert.deepEqual(await room.ticket(c.id, first.ticketId), after);
    assert.deepEqual(await room.stats(c.id), { waiting: 2, prequeued: 2, admitted: 0, soldOut: false });
  });

  it("draw order: the pre-queue stands in ascending drawValue order, later joiners behind in arrival order", async (t) => {
    const { room, create } = await open(t);
    const c = roomCampaign({ stock: 1000 });
    await create(c);
    const early = Array.from({ length: 60 }, (_, i) => `early-${i}`);
    const tickets = new Map<string, TicketView>();
    for (const user of shuffled(early))
      tickets.set(user, ticketOf(await room.join({ campaignId: c.id, userId: user })));
    await untilOpen(c);
    const late = ["late-3", "late-1", "late-2"];
    for (const [i, user] of late.entries()) {
      const ticket = ticketOf(await room.join({ campaignId: c.id, userId: user }));
      assert.deepEqual([ticket.prequeued, ticket.position, ticket.drawValue], [false, 61 + i, undefined]);
      tickets.set(user, ticket);
    }
    const expected = [...inDrawOrder(c, early), ...late];
    for (const [i, user] of expected.entries()) {
      const read = await room.ticket(c.id, tickets.get(user)!.ticketId);
      assert.deepEqual([read?.position, read?.ahead], [i + 1, i], user);
    }
    // The draw: the pre-queue's drawValues, ascending, in pages.
    const order: string[] = [];
    for await (const page of room.drawOrder(c.id)) order.push(...page);
    assert.deepEqual(order, early.map((u) => drawValueOf(c, u)).sort());
    // Release admits in exactly that order.
    const released = await releaseAll(room, c.id);
    assert.deepEqual(
      released.map((x) => x.userId),
      expected,
    );
    assert.ok(released.every((x) => x.status === "admitted" && x.claimId));
  });

  it("positions never grow while waiting, as tickets are released and others join", async (t) => {
    const { room, create } = await open(t);
    const c = roomCampaign({ stock: 1000 });
    await create(c);
    const ids: string[] = [];
    for (let i = 0; i < 30; i++)
      ids.push(ticketOf(await room.join({ campaignId: c.id, userId: `u${i}` })).ticketId);
    await untilOpen(c);
    const last = new Map<string, number>();
    for (let round = 0; round < 6; round++) {
      for (const id of ids) {
        const view = await room.ticket(c.id, id);
        if (view?.status !== "waiting") continue;
        const before = last.get(id);
        assert.ok(view.position !== null);
        if (before !== undefined) assert.ok(view.position <= before, `${id}: ${before} -> ${view.position}`);
        last.set(id, view.position);
      }
      ids.push(ticketOf(await room.join({ campaignId: c.id, userId: `late-${round}` })).ticketId);
      await room.release(c.id, 4);
    }
  });

  it("release admits as a claim: per-user limit (the held claim named), and the ticket gets its claim id", async (t) => {
    const { room, admission, create } = await open(t);
    const c = roomCampaign({ stock: 10 });
    await create(c);
    for (const user of ["alice", "bob", "carol"]) await room.join({ campaignId: c.id, userId: user });
    await untilOpen(c);
    // Alice already holds a claim (admitted directly: the store's admission knows nothing of the room).
    const held = claimOf(await admission.admit({ campaignId: c.id, userId: "alice" }));
    const released = await releaseAll(room, c.id);
    assert.deepEqual(
      released.map((x) => x.userId),
      inDrawOrder(c, ["alice", "bob", "carol"]),
    );
    const alice = released.find((x) => x.userId === "alice")!;
    assert.equal(alice.claimId, held.claimId, "what the 409 names");
    for (const ticket of released) {
      const claim = await admission.getClaim(ticket.claimId!);
      assert.deepEqual([claim?.userId, claim?.campaignId], [ticket.userId, c.id]);
      const read = await room.ticket(c.id, ticket.ticketId);
      assert.deepEqual([read?.status, read?.claimId, read?.position], ["admitted", ticket.claimId, null]);
    }
    assert.deepEqual(await admission.counters(c.id), { admitted: 3, issued: 0, held: 0 });
    assert.deepEqual(await room.stats(c.id), { waiting: 0, prequeued: 3, admitted: 3, soldOut: false });
  });

  it("sold_out at once when hopeless: every waiting ticket reads sold_out; a stock raise moves the line again", async (t) => {
    const { room, admission, create } = await open(t);
    const c = roomCampaign({ stock: 2 });
    await create(c);
    const ids = new Map<string, string>();
    for (const user of ["a", "b", "c", "d", "e"])
      ids.set(user, ticketOf(await room.join({ campaignId: c.id, userId: user })).ticketId);
    await untilOpen(c);
    const order = inDrawOrder(c, [...ids.keys()]);
    const first = await room.release(c.id, 10);
    assert.deepEqual(
      first.admitted.map((x) => x.userId),
      order.slice(0, 2),
    );
    assert.equal(first.soldOut, true);
    for (const user of order.slice(2)) {
      const read = await room.ticket(c.id, ids.get(user)!);
      assert.deepEqual([read?.status, read?.position], ["sold_out", null], user);
    }
    assert.equal((await room.stats(c.id))?.soldOut, true);
    assert.deepEqual(await room.join({ campaignId: c.id, userId: "late" }), { kind: "sold_out" }, "410");
    const again = ticketOf(await room.join({ campaignId: c.id, userId: order[2]! }), "existing");
    assert.equal(again.status, "sold_out", "the user's ticket, whatever became of it");
    const changed = await admission.changeCampaign(c.id, { stock: 3 });
    assert.equal(changed.kind, "changed");
    assert.equal((await room.ticket(c.id, ids.get(order[2]!)!))?.status, "waiting");
    const more = await releaseAll(room, c.id);
    assert.deepEqual(
      more.map((x) => x.userId),
      [order[2]],
    );
    assert.equal((await room.ticket(c.id, ids.get(order[3]!)!))?.status, "sold_out");
  });

  it("with holds: a live hold keeps the line waiting; its expiry releases the next ticket in order", async (t) => {
    const { room, admission, create } = await open(t);
    const c = roomCampaign({ stock: 1, holdSeconds: 1 });
    await create(c);
    const ids = new Map<string, string>();
    for (const user of ["a", "b", "c"])
      ids.set(user, ticketOf(await room.join({ campaignId: c.id, userId: user })).ticketId);
    await untilOpen(c);
    const order = inDrawOrder(c, ["a", "b", "c"]);
    const first = await room.release(c.id, 10);
    assert.deepEqual(
      first.admitted.map((x) => x.userId),
      [order[0]],
    );
    assert.equal(first.soldOut, false, "a hold may expire");
    assert.equal((await room.ticket(c.id, ids.get(order[1]!)!))?.status, "waiting");
    await sleep(1200);
    await admission.reapExpired(c.id);
    const second = await room.release(c.id, 10);
    assert.deepEqual(
      second.admitted.map((x) => x.userId),
      [order[1]],
    );
    const confirmed = await admission.confirm(second.admitted[0]!.claimId!);
    assert.equal(confirmed.kind, "confirmed");
    const third = await room.release(c.id, 10);
    assert.deepEqual(third, { admitted: [], soldOut: true }, "confirmed: no unit can come back");
    assert.equal((await room.ticket(c.id, ids.get(order[2]!)!))?.status, "sold_out");
  });

  it("releasePerSecond bounds the releases, whoever calls", async (t) => {
    const { room, create } = await open(t);
    const c = roomCampaign({ stock: 1000, startsAt: Date.now() + 300 }, { releasePerSecond: 20 });
    await create(c);
    for (let i = 0; i < 100; i++) await room.join({ campaignId: c.id, userId: `u${i}` });
    await untilOpen(c);
    const from = Date.now();
    let released = 0;
    while (Date.now() - from < 1500) {
      const results = await Promise.all([room.release(c.id, 50), room.release(c.id, 50)]);
      released += results.reduce((n, r) => n + r.admitted.length, 0);
      await sleep(25);
    }
    assert.ok(released >= 20 && released <= 40, `about 20/s for 1.5 s: ${released}`);
  });

  it("joins are rate limited like claims; a repeat join is answered before the limits", async (t) => {
    const { room, create } = await open(t, {
      rateLimit: {
        user: parseRate("1/m", "RATE_LIMIT_USER")!,
        ip: parseRate("1/m", "RATE_LIMIT_IP")!,
      },
    });
    const c = roomCampaign();
    await create(c);
    const ip = "192.0.2.7";
    const first = ticketOf(await room.join({ campaignId: c.id, userId: "u", clientIp: ip }));
    // docs/api.md "Join the queue": the same user again gets the same ticket (200), an answer
    // already known, which may come before the limiter: in both modes it does, never 429.
    const again = ticketOf(await room.join({ campaignId: c.id, userId: "u", clientIp: ip }), "existing");
    assert.equal(again.ticketId, first.ticketId);
    const limited = await room.join({ campaignId: c.id, userId: "v", clientIp: ip });
    assert.equal(limited.kind, "rate_limited", "the address's limit is spent");
    assert.ok((limited as { retryAfterSec: number }).retryAfterSec >= 1);
    ticketOf(await room.join({ campaignId: c.id, userId: "w", clientIp: "192.0.2.8" }));
    assert.deepEqual(await room.stats(c.id), { waiting: 2, prequeued: 2, admitted: 0, soldOut: false });
  });
}
