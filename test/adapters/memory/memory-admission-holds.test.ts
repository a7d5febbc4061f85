import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { EmbeddedQueue } from "../../../src/adapters/journal/embedded-queue.ts";
import type { JournalOptions } from "../../../src/adapters/journal/journal.ts";
import { MemoryAdmission } from "../../../src/adapters/memory/memory-admission.ts";
import { claimMessageCodec } from "../../../src/domain/claim-message.ts";
import type { Campaign, Claim } from "../../../src/domain/types.ts";
import type { AdmitOutcome, HoldOutcome } from "../../../src/ports/admission.ts";
import { tempDir } from "../../helpers/tmp.ts";

/**
 * The embedded store's holds on a clock the test moves (the shared cases run
 * in test/contracts/admission.ts): where exactly expiry falls, which unit
 * and slot come back, what each decision puts in the journal and when it
 * answers, and the rebuild after a restart.
 */

const HOLD = 60; // seconds
const campaign = (overrides: Partial<Campaign> = {}): Campaign => ({
  id: "c",
  name: "C",
  stock: 3,
  perUserLimit: 1,
  startsAt: null,
  endsAt: null,
  createdAt: 0,
  holdSeconds: HOLD,
  ...overrides,
});

interface Opened {
  store: MemoryAdmission;
  queue: EmbeddedQueue<Claim>;
  recovered: Claim[];
  clock: { now: number };
}

/** A store over a journal in `dir` (recovered snapshots restored), on a clock the test sets. */
async function open(
  t: { after: (fn: () => Promise<void>) => void },
  dir: string,
  options: { journal?: JournalOptions; ledger?: Claim[]; campaigns?: Campaign[]; now?: number } = {},
): Promise<Opened> {
  const { queue, recovered } = await EmbeddedQueue.open<Claim>(
    dir,
    "claims",
    options.journal ?? { sync: async () => undefined },
    claimMessageCodec,
  );
  const clock = { now: options.now ?? 1_000_000 };
  const store = new MemoryAdmission(queue, { now: () => clock.now });
  for (const c of options.campaigns ?? [campaign()]) await store.putCampaign(c);
  store.restore(recovered, options.ledger ?? []);
  t.after(() => queue.close());
  return { store, queue, recovered, clock };
}

const admitted = (o: AdmitOutcome): Claim => {
  assert.equal(o.kind, "admitted", JSON.stringify(o));
  return (o as { claim: Claim }).claim;
};
const kind = (o: HoldOutcome) => o.kind;
/** What the ledger would answer the worker for these snapshots (ports/ledger.ts), without one. */
const asWritten = (snapshots: readonly Claim[]): Claim[] =>
  snapshots.map((s) => (s.status === "pending" ? { ...s, status: "held" } : s));

test("confirm at expiresAt - 1 ms wins; at expiresAt the hold has expired, and the confirm itself expired it", async (t) => {
  const { store, clock } = await open(t, tempDir(t));
  const a = admitted(await store.admit({ campaignId: "c", userId: "a" }));
  const b = admitted(await store.admit({ campaignId: "c", userId: "b" }));
  assert.equal(a.expiresAt, clock.now + HOLD * 1000);
  clock.now = a.expiresAt! - 1;
  const won = await store.confirm(a.claimId);
  assert.equal(kind(won), "confirmed");
  assert.equal((won as { claim: Claim }).claim.issuedAt, a.expiresAt! - 1);
  clock.now = b.expiresAt!;
  const lost = await store.confirm(b.claimId);
  assert.equal(kind(lost), "hold_expired");
  assert.deepEqual(
    [(lost as { claim: Claim }).claim.status, (lost as { claim: Claim }).claim.endedAt],
    ["expired", b.expiresAt],
  );
  // Decided once: the reaper finds nothing left, a repeat answers the same.
  assert.deepEqual(await store.reapExpired("c"), { expired: [], nextDueAt: null });
  assert.equal(kind(await store.confirm(b.claimId)), "hold_expired");
  assert.equal(kind(await store.confirm(a.claimId)), "confirmed");
  assert.deepEqual(await store.counters("c"), { admitted: 1, issued: 0, held: 0 });
});

test("units and user slots come back lowest first; counters follow every step", async (t) => {
  const { store, clock } = await open(t, tempDir(t), {
    campaigns: [campaign({ stock: 4, perUserLimit: 3 })],
  });
  const claims: Claim[] = [];
  for (const userId of ["a", "a", "a", "b"])
    claims.push(admitted(await store.admit({ campaignId: "c", userId })));
  assert.deepEqual(
    claims.map((c) => [c.unit, c.seq]),
    [
      [1, 1],
      [2, 2],
      [3, 3],
      [4, 1],
    ],
  );
  assert.equal((await store.admit({ campaignId: "c", userId: "z" })).kind, "sold_out");
  await store.markWritten(asWritten(claims.map((c) => ({ ...c }))));
  assert.deepEqual(await store.counters("c"), { admitted: 4, issued: 0, held: 4 });
  // a gives back slot 2 (unit 2) and slot 1 (unit 1); b confirms.
  assert.equal(kind(await store.release(claims[1]!.claimId)), "released");
  clock.now += 1000;
  assert.equal(kind(await store.release(claims[0]!.claimId)), "released");
  assert.equal(kind(await store.confirm(claims[3]!.claimId)), "confirmed");
  assert.deepEqual(await store.counters("c"), { admitted: 2, issued: 0, held: 1 });
  // The next claims take unit 1 then 2; a takes slot 1 again.
  const again = admitted(await store.admit({ campaignId: "c", userId: "a" }));
  assert.deepEqual([again.unit, again.seq], [1, 1]);
  const other = admitted(await store.admit({ campaignId: "c", userId: "x" }));
  assert.deepEqual([other.unit, other.seq], [2, 1]);
  assert.equal((await store.admit({ campaignId: "c", userId: "y" })).kind, "sold_out");
  // The ledger catches up: the confirmation is issued, the releases ended, the new ones held.
  const confirmed = (await store.getClaim(claims[3]!.claimId))!;
  await store.markWritten([
    { ...confirmed },
    { ...claims[0]!, status: "released" },
    { ...claims[1]!, status: "released" },
    { ...again, status: "held" },
    { ...other, status: "held" },
  ]);
  assert.deepEqual(await store.counters("c"), { admitted: 4, issued: 1, held: 3 });
  // a's list shows every claim of hers, ended ones too, in admission order.
  assert.deepEqual(
    (await store.userClaims("c", "a")).map((c) => [c.unit, c.status]),
    [
      [1, "released"],
      [2, "released"],
      [3, "held"],
      [1, "held"],
    ],
  );
});

test("admit() expires due holds before it decides; a 410 only while no hold is due", async (t) => {
  const { store, clock } = await open(t, tempDir(t), { campaigns: [campaign({ stock: 1 })] });
  const first = admitted(await store.admit({ campaignId: "c", userId: "a" }));
  clock.now = first.expiresAt! - 1;
  assert.equal((await store.admit({ campaignId: "c", userId: "b" })).kind, "sold_out");
  clock.now = first.expiresAt!;
  const second = admitted(await store.admit({ campaignId: "c", userId: "b" }));
  assert.equal(second.unit, first.unit);
  assert.equal((await store.getClaim(first.claimId))?.status, "expired");
  assert.equal((await store.reapExpired("c")).nextDueAt, second.expiresAt);
});

test("reapExpired: every due hold at once, in one pass; nextDueAt is the earliest still open", async (t) => {
  const { store, clock } = await open(t, tempDir(t), { campaigns: [campaign({ stock: 10 })] });
  const claims: Claim[] = [];
  for (let i = 0; i < 5; i++) {
    claims.push(admitted(await store.admit({ campaignId: "c", userId: `u${i}` })));
    clock.now += 1000;
  }
  assert.equal(kind(await store.confirm(claims[1]!.claimId)), "confirmed");
  clock.now = claims[2]!.expiresAt!;
  const pass = await store.reapExpired("c");
  assert.deepEqual(
    pass.expired.map((c) => [c.claimId, c.status]),
    [
      [claims[0]!.claimId, "expired"],
      [claims[2]!.claimId, "expired"],
    ],
  );
  assert.equal(pass.nextDueAt, claims[3]!.expiresAt);
  assert.deepEqual(await store.counters("c"), { admitted: 3, issued: 0, held: 0 });
  assert.deepEqual(await store.reapExpired("unknown"), { expired: [], nextDueAt: null });
});

test("a decision answers only once its snapshot is fsync'ed; until then the claim shows the state before", async (t) => {
  let hold: Promise<void> | undefined;
  let release: () => void = () => undefined;
  const { store } = await open(t, tempDir(t), {
    journal: {
      sync: async () => {
        await hold;
      },
    },
  });
  const claim = admitted(await store.admit({ campaignId: "c", userId: "a" }));
  hold = new Promise((r) => (release = r));
  let answered = false;
  const confirming = store.confirm(claim.claimId).then((o) => {
    answered = true;
    return o;
  });
  // A release meanwhile is decided against the confirmation already made.
  const releasing = store.release(claim.claimId);
  await sleep(50);
  assert.equal(answered, false, "no answer before the fsync");
  assert.equal(
    (await store.getClaim(claim.claimId))?.status,
    "pending",
    "not shown issued before it is durable",
  );
  assert.deepEqual(await store.counters("c"), { admitted: 1, issued: 0, held: 0 });
  release();
  hold = undefined;
  assert.equal(kind(await confirming), "confirmed");
  assert.equal(kind(await releasing), "already_confirmed");
  assert.equal((await store.getClaim(claim.claimId))?.status, "issued");
});

test("each decision is one snapshot in the journal, in decision order, so a reused unit follows its end", async (t) => {
  const dir = tempDir(t);
  const first = await open(t, dir, { campaigns: [campaign({ stock: 1 })] });
  const a = admitted(await first.store.admit({ campaignId: "c", userId: "a" }));
  assert.equal(kind(await first.store.release(a.claimId)), "released");
  const b = admitted(await first.store.admit({ campaignId: "c", userId: "b" }));
  assert.equal(kind(await first.store.confirm(b.claimId)), "confirmed");
  // No worker acknowledged anything: the journal holds every snapshot.
  const again = await EmbeddedQueue.open<Claim>(dir, "claims", {}, claimMessageCodec);
  t.after(() => again.queue.close());
  assert.deepEqual(
    again.recovered.map((s) => [s.claimId, s.unit, s.status, s.expiresAt !== undefined]),
    [
      [a.claimId, 1, "pending", true],
      [a.claimId, 1, "released", true],
      [b.claimId, 1, "pending", true],
      [b.claimId, 1, "issued", true],
    ],
  );
  assert.equal(again.recovered[1]!.endedAt, a.endedAt);
  assert.equal(again.recovered[3]!.issuedAt, b.issuedAt);
});

test("restore: the journal's newest snapshot per claim over the ledger's rows; due holds expire at the first pass", async (t) => {
  const dir = tempDir(t);
  const before = await open(t, dir, { campaigns: [campaign({ stock: 5 })] });
  const clock = before.clock;
  const [confirmed, released, open1, open2, written] = await Promise.all(
    ["a", "b", "c", "d", "e"].map(async (u) =>
      admitted(await before.store.admit({ campaignId: "c", userId: u })),
    ),
  );
  // The ledger holds `written` as held and `released` as held (its release is only in the journal).
  const ledger: Claim[] = [
    { ...written!, status: "held" },
    { ...released!, status: "held" },
  ];
  assert.equal(kind(await before.store.confirm(confirmed!.claimId)), "confirmed");
  assert.equal(kind(await before.store.release(released!.claimId)), "released");
  clock.now += 10_000;
  const late = admitted(await before.store.admit({ campaignId: "c", userId: "f" }));
  assert.equal(late.unit, released!.unit, "the released unit, again");

  // "Restart" while open1, open2 and written are still held, some past their expiresAt.
  const now = open1!.expiresAt! + 1;
  const after = await open(t, dir, { campaigns: [campaign({ stock: 5 })], ledger, now });
  const { store } = after;
  const status = async (c: Claim) => (await store.getClaim(c.claimId))?.status;
  assert.deepEqual(
    await Promise.all([confirmed, released, open1, open2, written, late].map((c) => status(c!))),
    ["issued", "released", "pending", "pending", "held", "pending"],
  );
  assert.deepEqual(await store.counters("c"), { admitted: 5, issued: 0, held: 1 });
  const pass = await store.reapExpired("c");
  assert.deepEqual(
    pass.expired.map((c) => c.claimId).sort(),
    [open1, open2, written].map((c) => c!.claimId).sort(),
  );
  assert.equal(pass.nextDueAt, late.expiresAt);
  assert.deepEqual(await store.counters("c"), { admitted: 2, issued: 0, held: 0 });
  assert.equal(kind(await store.confirm(open1!.claimId)), "hold_expired");
  assert.equal(kind(await store.confirm(confirmed!.claimId)), "confirmed");
  assert.equal(kind(await store.release(released!.claimId)), "released");
  // The freed units are handed out lowest first; the users whose holds ended may claim again.
  const next = admitted(await store.admit({ campaignId: "c", userId: "c" }));
  assert.equal(next.unit, Math.min(open1!.unit, open2!.unit, written!.unit));
  assert.equal(next.seq, 1);
  // The restored keyed answers and holders work as before.
  const holder = await store.admit({ campaignId: "c", userId: "a" });
  assert.equal(holder.kind, "already_claimed");
  assert.equal((holder as { claim: Claim }).claim.claimId, confirmed!.claimId);
});

test("restore: a hold the ledger issued is issued and counted once when the worker reports it again", async (t) => {
  const dir = tempDir(t);
  const before = await open(t, dir);
  const claim = admitted(await before.store.admit({ campaignId: "c", userId: "a" }));
  assert.equal(kind(await before.store.confirm(claim.claimId)), "confirmed");
  const issued = { ...(await before.store.getClaim(claim.claimId))! };
  const after = await open(t, dir, { ledger: [issued] });
  assert.deepEqual(await after.store.counters("c"), { admitted: 1, issued: 1, held: 0 });
  await after.store.markWritten([issued]);
  assert.deepEqual(await after.store.counters("c"), { admitted: 1, issued: 1, held: 0 });
  assert.equal(kind(await after.store.release(claim.claimId)), "already_confirmed");
});

test("stock: lowered only while every unit above it is free; a freed unit above it is forgotten", async (t) => {
  const { store } = await open(t, tempDir(t), { campaigns: [campaign({ stock: 4 })] });
  const claims: Claim[] = [];
  for (const u of ["a", "b", "c", "d"])
    claims.push(admitted(await store.admit({ campaignId: "c", userId: u })));
  await store.release(claims[3]!.claimId);
  await store.release(claims[1]!.claimId);
  const refused = await store.changeCampaign("c", { stock: 2 });
  assert.deepEqual([refused.kind, (refused as { admitted: number }).admitted], ["stock_below_admitted", 3]);
  assert.equal((await store.changeCampaign("c", { stock: 3 })).kind, "changed");
  // Unit 4 is gone with the stock; unit 2 is the one left.
  assert.equal(admitted(await store.admit({ campaignId: "c", userId: "x" })).unit, 2);
  assert.equal((await store.admit({ campaignId: "c", userId: "y" })).kind, "sold_out");
  assert.equal((await store.changeCampaign("c", { stock: 5 })).kind, "changed");
  assert.deepEqual(
    [
      admitted(await store.admit({ campaignId: "c", userId: "y" })).unit,
      admitted(await store.admit({ campaignId: "c", userId: "z" })).unit,
    ],
    [4, 5],
  );
});

test("erasure waits for a user's holds to end in the ledger", async (t) => {
  const { store } = await open(t, tempDir(t));
  const claim = admitted(await store.admit({ campaignId: "c", userId: "a" }));
  await store.markWritten([{ ...claim, status: "held" }]);
  assert.deepEqual(await store.forgetUser("c", "a"), { kind: "pending" });
  assert.equal(kind(await store.release(claim.claimId)), "released");
  assert.deepEqual(await store.forgetUser("c", "a"), { kind: "pending" }, "released, not yet in the ledger");
  await store.markWritten([{ ...(await store.getClaim(claim.claimId))! }]);
  assert.deepEqual(await store.forgetUser("c", "a"), { kind: "forgotten", claims: 1 });
});
