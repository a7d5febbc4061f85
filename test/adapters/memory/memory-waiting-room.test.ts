import assert from "node:assert/strict";
import { test } from "node:test";
import { MemoryAdmission } from "../../../src/adapters/memory/memory-admission.ts";
import { MemoryWaitingRoom } from "../../../src/adapters/memory/memory-waiting-room.ts";
import { drawCommitment, drawValue, newDrawSeed } from "../../../src/domain/draw.ts";
import type { Campaign, Claim } from "../../../src/domain/types.ts";
import type { Queue } from "../../../src/ports/queue.ts";
import type { TicketRecord } from "../../../src/ports/ticket-ledger.ts";

/**
 * The embedded waiting room's store (src/adapters/memory/memory-waiting-room.ts)
 * on a clock of the test's own, with queues whose durability the test holds:
 * nothing is shown or released before it is durable; a user who holds a
 * claim is admitted naming it; holds keep a line hopeful; a restart finds
 * tickets admitted by their claim alone.
 */
class HeldQueue<T> implements Queue<T> {
  readonly published: T[] = [];
  held = false;
  #waiting: (() => void)[] = [];

  async publish(values: readonly T[]): Promise<void> {
    if (this.held) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.published.push(...values);
  }

  let(): void {
    this.held = false;
    for (const go of this.#waiting.splice(0)) go();
  }

  consume(): never {
    throw new Error("not consumed here");
  }
  async lag() {
    return [];
  }
  async ping() {}
  async close() {}
}

const seed = newDrawSeed();
const T0 = 1_800_000_000_000;

function room(overrides: Partial<Campaign> = {}): Campaign {
  return {
    id: "r",
    name: "Room",
    stock: 3,
    perUserLimit: 1,
    startsAt: T0,
    endsAt: null,
    createdAt: T0 - 3_600_000,
    waitingRoom: { prequeueSeconds: 600, releasePerSecond: null, seed, commitment: drawCommitment(seed) },
    ...overrides,
  };
}

async function open(campaign = room()) {
  let now = T0 - 60_000;
  const clock = { now: () => now, set: (t: number) => (now = t) };
  const claims = new HeldQueue<Claim>();
  const tickets = new HeldQueue<TicketRecord>();
  const admission = new MemoryAdmission(claims, { now: clock.now });
  await admission.putCampaign(campaign);
  const store = new MemoryWaitingRoom(admission, tickets, { now: clock.now });
  return { clock, claims, tickets, admission, store };
}

const joined = async (store: MemoryWaitingRoom, userId: string) => {
  const outcome = await store.join({ campaignId: "r", userId });
  assert.equal(outcome.kind, "joined");
  return outcome.kind === "joined" ? outcome.ticket : assert.fail();
};

test("a join is shown only once its record is durable; a second join of the user waits for it and finds it", async () => {
  const { store, tickets } = await open();
  tickets.held = true;
  const first = store.join({ campaignId: "r", userId: "alice" });
  const again = store.join({ campaignId: "r", userId: "alice" });
  await new Promise((r) => setImmediate(r));
  assert.equal(tickets.published.length, 0);
  tickets.let();
  const [a, b] = await Promise.all([first, again]);
  assert.equal(a.kind, "joined");
  assert.equal(b.kind, "existing");
  assert.equal(a.kind === "joined" && b.kind === "existing" && a.ticket.ticketId === b.ticket.ticketId, true);
  assert.deepEqual(
    tickets.published.map((r) => [r.userId, r.arrival]),
    [["alice", null]],
    "one record: pre-queued",
  );
});

test("release: in draw order, each a claim with the ticket's id, shown admitted once the claim is durable", async () => {
  const { store, admission, claims, clock } = await open();
  const users = ["a", "b", "c", "d", "e"];
  for (const u of users) await joined(store, u);
  assert.deepEqual(await store.release("r", 10), { admitted: [], soldOut: false }, "nothing before startsAt");
  clock.set(T0);
  claims.held = true;
  const releasing = store.release("r", 2);
  await new Promise((r) => setImmediate(r));
  const order = [...users].sort((x, y) => (drawValue(seed, x) < drawValue(seed, y) ? -1 : 1));
  const head = (await store.join({ campaignId: "r", userId: order[0]! })) as { ticket: { status: string } };
  assert.equal(head.ticket.status, "waiting", "released, not durable yet: still waiting");
  claims.let();
  const result = await releasing;
  assert.deepEqual(
    result.admitted.map((t) => t.userId),
    order.slice(0, 2),
  );
  for (const t of result.admitted) {
    assert.equal(t.claimId, t.ticketId);
    assert.equal((await admission.getClaim(t.ticketId))?.userId, t.userId);
  }
  const third = (await store.join({ campaignId: "r", userId: order[2]! })) as {
    ticket: { position: number; ahead: number };
  };
  assert.deepEqual([third.ticket.position, third.ticket.ahead], [1, 0]);
  const rest = await store.release("r", 10);
  assert.deepEqual(
    rest.admitted.map((t) => t.userId),
    [order[2]],
    "only the free units",
  );
  assert.equal(rest.soldOut, true, "stock 3 taken, no holds: the rest is sold out at once");
  const last = await store.ticket(
    "r",
    ((await store.join({ campaignId: "r", userId: order[4]! })) as never as { ticket: { ticketId: string } })
      .ticket.ticketId,
  );
  assert.equal(last?.status, "sold_out");
  assert.equal(last?.position, null);
  assert.deepEqual(await store.stats("r"), { waiting: 2, prequeued: 5, admitted: 3, soldOut: true });
  assert.equal((await store.join({ campaignId: "r", userId: "late" })).kind, "sold_out");
  const draw: string[] = [];
  for await (const page of store.drawOrder("r")) draw.push(...page);
  assert.deepEqual(draw, users.map((u) => drawValue(seed, u)).sort());
});

test("a user who holds a claim already is admitted naming it, taking no unit", async () => {
  const { store, admission, clock } = await open(room({ stock: 2 }));
  await joined(store, "alice");
  await joined(store, "bob");
  clock.set(T0);
  const held = admission.admitFromLine("r", "alice", "earlier-claim-0123456");
  assert.equal(held.kind, "admitted");
  if (held.kind === "admitted") await held.durable;
  const result = await store.release("r", 10);
  const alice = result.admitted.find((t) => t.userId === "alice");
  assert.equal(alice?.claimId, "earlier-claim-0123456");
  assert.equal(result.admitted.length, 2, "bob took the other unit");
  assert.equal((await admission.counters("r"))?.admitted, 2);
});

test("holds: a line with open holds is not hopeless; an expiry lets the next in; the last decision ends it", async () => {
  const { store, admission, clock } = await open(room({ stock: 1, holdSeconds: 30 }));
  for (const u of ["a", "b", "c"]) await joined(store, u);
  clock.set(T0);
  const first = await store.release("r", 10);
  assert.equal(first.admitted.length, 1);
  assert.equal(first.soldOut, false, "an open hold may come back");
  clock.set(T0 + 30_000);
  const second = await store.release("r", 10);
  assert.equal(second.admitted.length, 1, "the expired hold's unit went to the next in line");
  assert.equal((await admission.confirm(second.admitted[0]!.claimId!)).kind, "confirmed");
  assert.equal((await store.release("r", 10)).soldOut, true, "confirmed: nothing can come back");
  await admission.changeCampaign("r", { stock: 2 });
  const raised = await store.release("r", 10);
  assert.deepEqual(
    [raised.admitted.length, raised.soldOut],
    [1, false],
    "a stock raise moves the line again",
  );
});

test("restore: tickets come back in their places; one whose claim exists is admitted and its record written again", async () => {
  const { store, tickets, claims, clock } = await open();
  for (const u of ["a", "b", "c", "d"]) await joined(store, u);
  clock.set(T0);
  await joined(store, "late");
  await store.release("r", 2);
  // The restart: admission from the claims journal, the room from the tickets', minus the admitted records.
  const records = tickets.published.filter((r) => r.claimId === undefined);
  const admission = new MemoryAdmission(new HeldQueue<Claim>(), { now: clock.now });
  await admission.putCampaign(room());
  admission.restore(claims.published);
  const again = new MemoryWaitingRoom(admission, new HeldQueue<TicketRecord>(), { now: clock.now });
  const fixed = await again.restore(records);
  assert.equal(fixed.length, 2, "both released tickets, admitted by their claims alone");
  for (const r of fixed) assert.equal(r.claimId, r.ticketId);
  const stats = await again.stats("r");
  assert.deepEqual(stats, { waiting: 3, prequeued: 4, admitted: 2, soldOut: false });
  const next = await again.release("r", 10);
  const order = ["a", "b", "c", "d"].sort((x, y) => (drawValue(seed, x) < drawValue(seed, y) ? -1 : 1));
  assert.deepEqual(
    next.admitted.map((t) => t.userId),
    [order[2]],
    "resumes at the first ticket not admitted",
  );
  assert.equal(next.soldOut, true);
});

test("releasePerSecond: the store's own budget, a burst of burstMs then the rate, however late or often it is asked", async () => {
  const { store, clock } = await open(
    room({
      stock: 1000,
      waitingRoom: { prequeueSeconds: 600, releasePerSecond: 25, seed, commitment: drawCommitment(seed) },
    }),
  );
  for (let i = 0; i < 200; i++) await joined(store, `u${i}`);
  clock.set(T0);
  const first = await store.release("r", 100);
  assert.equal(first.admitted.length, 5, "full at the first release: 200 ms of 25/s");
  assert.equal((await store.release("r", 100)).admitted.length, 0, "again at once: spent");
  let released = 0;
  for (let i = 0; i < 40; i++) {
    clock.set(T0 + (i + 1) * 100);
    released += (await store.release("r", 100)).admitted.length;
  }
  assert.ok(released >= 98 && released <= 100, `25/s over 4 s released ${released}`);
  clock.set(T0 + 4000 + 10_000); // nobody asked for 10 s
  assert.equal((await store.release("r", 100)).admitted.length, 5, "a late caller gets the burst, no more");
  assert.equal((await store.release("r", 2)).admitted.length, 0, "max bounds it too; nothing left anyway");
});
