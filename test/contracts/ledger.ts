import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { type TestContext, test } from "node:test";
import { drawCommitment, newDrawSeed } from "../../src/domain/draw.ts";
import { erasedUserId } from "../../src/domain/erasure.ts";
import type { Campaign, Claim } from "../../src/domain/types.ts";
import { type DeliveryLedger, deliveryIdOf, type WebhookConfig } from "../../src/ports/delivery.ts";
import type { Ledger } from "../../src/ports/ledger.ts";
import type { AuditAction, AuditEntry, LifecycleLedger } from "../../src/ports/lifecycle-ledger.ts";

/**
 * What every ledger must do, run against each implementation (SQLite,
 * PostgreSQL): the Ledger port, and its lifecycle and delivery sides. `open`
 * gives a migrated, empty ledger of the test's own.
 */
export interface LedgerUnderTest {
  ledger: Ledger;
  lifecycle: LifecycleLedger;
  deliveries: DeliveryLedger;
}

export type OpenLedger = (t: TestContext) => Promise<LedgerUnderTest>;

const T0 = 1_800_000_000_000;

export function campaign(id: string, overrides: Partial<Campaign> = {}): Campaign {
  return {
    id,
    name: `campaign ${id}`,
    stock: 10,
    perUserLimit: 1,
    startsAt: null,
    endsAt: T0 + 3_600_000,
    createdAt: T0,
    status: "open",
    revision: 0,
    ...overrides,
  };
}

export function claim(campaignId: string, unit: number, overrides: Partial<Claim> = {}): Claim {
  return {
    claimId: randomBytes(16).toString("base64url"),
    campaignId,
    userId: `user-${unit}`,
    seq: 1,
    unit,
    couponCode: randomBytes(8).toString("hex"),
    admittedAt: T0 + unit,
    status: "pending",
    // Present, as on a claim the ledger reads back, so that claims compare whole.
    idempotencyKey: undefined,
    ...overrides,
  };
}

const audit = (campaignId: string, action: AuditAction, at: number, details = {}): AuditEntry => ({
  campaignId,
  at,
  action,
  details,
  actor: "ops@example.com",
  requestId: `req-${at}`,
  clientIp: "192.0.2.7",
});

const webhook = (url = "https://shop.example/hooks"): WebhookConfig => ({
  url,
  secret: "s3cret",
  updatedAt: T0,
});

/** The claim as the ledger holds it once issued at `issuedAt`. */
const issuedAs = (c: Claim, issuedAt: number): Claim => ({ ...c, status: "issued", issuedAt });
const ids = (claims: readonly { claimId: string }[]) => claims.map((c) => c.claimId).sort();

/** Holds: the campaign's holdSeconds, and each snapshot admission puts on the queue for a hold. */
const HOLD_SECONDS = 60;
const holdCampaign = (id: string, overrides: Partial<Campaign> = {}): Campaign =>
  campaign(id, { holdSeconds: HOLD_SECONDS, ...overrides });
/** Admitted: pending, with its expiry. */
const hold = (campaignId: string, unit: number, overrides: Partial<Claim> = {}): Claim => {
  const c = claim(campaignId, unit, overrides);
  return { ...c, expiresAt: c.admittedAt + HOLD_SECONDS * 1000 };
};
const confirmed = (c: Claim, at: number): Claim => ({ ...c, status: "issued", issuedAt: at });
const ended = (c: Claim, status: "expired" | "released", at: number): Claim => ({
  ...c,
  status,
  endedAt: at,
});
/** A pending hold as the ledger holds it. */
const heldAs = (c: Claim): Claim => ({
  ...c,
  status: "held",
  expiresAt: c.expiresAt ?? c.admittedAt + HOLD_SECONDS * 1000,
});
const none = { written: [], changed: [], behind: [], conflicts: [] };

export function ledgerContract(name: string, open: OpenLedger, skip: string | false = false): void {
  const it = (title: string, fn: (t: TestContext) => Promise<void>) =>
    test(`${name}: ${title}`, { skip }, fn);

  it("createCampaign: once per id; getCampaign and listCampaigns read it back", async (t) => {
    const { ledger } = await open(t);
    const c1 = campaign("c1", { startsAt: T0 + 60_000, perUserLimit: 3 });
    assert.equal(await ledger.createCampaign(c1), true);
    assert.equal(await ledger.createCampaign({ ...c1, name: "another" }), false);
    assert.deepEqual(await ledger.getCampaign("c1"), c1);
    assert.equal(await ledger.getCampaign("nope"), undefined);
    await ledger.createCampaign(campaign("b", { createdAt: T0 - 1, endsAt: null }));
    await ledger.createCampaign(campaign("a", { createdAt: T0 - 1 }));
    assert.deepEqual(
      (await ledger.listCampaigns()).map((c) => c.id),
      ["a", "b", "c1"],
      "by creation time, then id",
    );
    assert.equal((await ledger.getCampaign("b"))?.endsAt, null);
  });

  it("createCampaign: a waiting room's settings and draw seed are stored with the campaign and read back", async (t) => {
    const { ledger } = await open(t);
    const seed = newDrawSeed();
    const room = campaign("room", {
      startsAt: T0 + 60_000,
      waitingRoom: { prequeueSeconds: 900, releasePerSecond: 50, seed, commitment: drawCommitment(seed) },
    });
    assert.equal(await ledger.createCampaign(room), true);
    assert.deepEqual(await ledger.getCampaign("room"), room);
    const unlimited = campaign("unlimited", {
      startsAt: T0,
      waitingRoom: { prequeueSeconds: 1, releasePerSecond: null, seed, commitment: drawCommitment(seed) },
    });
    await ledger.createCampaign(unlimited);
    assert.deepEqual(
      (await ledger.listCampaigns()).find((c) => c.id === "unlimited"),
      unlimited,
    );
    assert.equal((await ledger.getCampaign("room"))?.waitingRoom?.commitment, drawCommitment(seed));
    await ledger.createCampaign(campaign("plain"));
    assert.equal((await ledger.getCampaign("plain"))?.waitingRoom, undefined, "no room: no field");
  });

  it("write: a claim without holds is issued at the batch's time; a redelivery is written again as first written", async (t) => {
    const { ledger } = await open(t);
    await ledger.createCampaign(campaign("c1"));
    const batch = [claim("c1", 1), claim("c1", 2, { idempotencyKey: "key-2" }), claim("c1", 3)];
    const first = batch.map((c) => issuedAs(c, T0 + 1000));
    assert.deepEqual(await ledger.write(batch, T0 + 1000), {
      written: first,
      changed: first,
      behind: [],
      conflicts: [],
    });
    const fresh = claim("c1", 4);
    const again = await ledger.write([batch[1]!, fresh, batch[0]!], T0 + 2000);
    assert.deepEqual(again, {
      written: [issuedAs(batch[1]!, T0 + 1000), issuedAs(fresh, T0 + 2000), issuedAs(batch[0]!, T0 + 1000)],
      changed: [issuedAs(fresh, T0 + 2000)],
      behind: [],
      conflicts: [],
    });
    assert.equal(await ledger.issuedCount("c1"), 4);
    assert.deepEqual(await ledger.counts("c1"), { issued: 4, held: 0 });

    // A batch may carry one claim twice (the queue redelivered it): written once.
    const twice = claim("c1", 5);
    const result = await ledger.write([twice, twice], T0 + 3000);
    assert.deepEqual(result.written, [issuedAs(twice, T0 + 3000)]);
    assert.equal(await ledger.issuedCount("c1"), 5);
    assert.deepEqual(await ledger.write([], T0), { written: [], changed: [], behind: [], conflicts: [] });
  });

  it("write: another claim on a held unit, user slot or coupon code is a conflict naming it; the rest is written", async (t) => {
    const { ledger } = await open(t);
    await ledger.createCampaign(campaign("c1", { perUserLimit: 2 }));
    await ledger.createCampaign(campaign("c2"));
    const held = claim("c1", 1, { userId: "alice" });
    await ledger.write([held], T0);
    const sameUnit = claim("c1", 1, { userId: "bob" });
    const sameSlot = claim("c1", 7, { userId: "alice", seq: 1 });
    const sameCode = claim("c1", 8, { couponCode: held.couponCode });
    const secondSlot = claim("c1", 9, { userId: "alice", seq: 2 });
    const otherCampaign = claim("c2", 1, { userId: "alice" });
    const result = await ledger.write([sameUnit, sameSlot, secondSlot, sameCode, otherCampaign], T0 + 1);
    const inLedger = issuedAs(held, T0);
    assert.deepEqual(result.conflicts, [
      { snapshot: sameUnit, reason: "taken", blocker: inLedger },
      { snapshot: sameSlot, reason: "taken", blocker: inLedger },
      { snapshot: sameCode, reason: "taken", blocker: inLedger },
    ]);
    assert.deepEqual(result.written, [issuedAs(secondSlot, T0 + 1), issuedAs(otherCampaign, T0 + 1)]);
    assert.equal(await ledger.issuedCount("c1"), 2);
    assert.equal(await ledger.issuedCount("c2"), 1);
    assert.equal(await ledger.findClaim(sameUnit.claimId), undefined);
  });

  it("findClaim, userClaims and counts read what was written", async (t) => {
    const { ledger } = await open(t);
    await ledger.createCampaign(campaign("c1", { perUserLimit: 3 }));
    await ledger.createCampaign(campaign("empty"));
    const second = claim("c1", 2, { userId: "alice", seq: 2, idempotencyKey: "k" });
    const first = claim("c1", 5, { userId: "alice", seq: 1 });
    await ledger.write([second, claim("c1", 3)], T0 + 10);
    await ledger.write([first], T0 + 20);
    assert.deepEqual(await ledger.findClaim(second.claimId), issuedAs(second, T0 + 10));
    assert.deepEqual(await ledger.findClaim(first.claimId), issuedAs(first, T0 + 20));
    assert.equal(await ledger.findClaim("unknown"), undefined);
    assert.deepEqual(await ledger.userClaims("c1", "alice"), [
      issuedAs(first, T0 + 20),
      issuedAs(second, T0 + 10),
    ]);
    assert.deepEqual(await ledger.userClaims("c1", "nobody"), []);
    assert.equal(await ledger.issuedCount("c1"), 3);
    assert.equal(await ledger.issuedCount("empty"), 0);
    assert.equal(await ledger.issuedCount("unknown"), 0);
    assert.deepEqual(await ledger.counts("unknown"), { issued: 0, held: 0 });
  });

  it("campaignClaims and exportClaims: every claim of the campaign in unit order, over several pages", async (t) => {
    const { ledger } = await open(t);
    const count = 5100; // more than a page of either engine's campaignClaims and exportClaims
    await ledger.createCampaign(campaign("big", { stock: count }));
    await ledger.createCampaign(campaign("other"));
    await ledger.createCampaign(campaign("empty"));
    const claims = Array.from({ length: count }, (_, i) => claim("big", count - i));
    for (let i = 0; i < count; i += 1000) await ledger.write(claims.slice(i, i + 1000), T0);
    await ledger.write([claim("other", 1), claim("other", 2)], T0);
    const expected = Array.from({ length: count }, (_, i) => i + 1);

    const units: number[] = [];
    for await (const c of ledger.campaignClaims("big")) units.push(c.unit);
    assert.deepEqual(units, expected);

    const pages: (readonly Claim[])[] = [];
    for await (const page of ledger.exportClaims("big")) pages.push(page);
    assert.ok(pages.length > 1, `${pages.length} page(s)`);
    assert.ok(pages.every((page) => page.length > 0));
    const exported = pages.flat();
    assert.deepEqual(
      exported.map((c) => c.unit),
      expected,
    );
    const byId = new Map(claims.map((c) => [c.claimId, c]));
    assert.deepEqual(exported[0], issuedAs(byId.get(exported[0]!.claimId)!, T0));

    for await (const _ of ledger.exportClaims("empty")) assert.fail("an empty campaign exports no page");
    for await (const _ of ledger.campaignClaims("empty")) assert.fail("an empty campaign has no claim");
    // A reader that leaves early (the client went away) leaves the ledger as it was.
    for await (const page of ledger.exportClaims("big")) {
      assert.equal(page[0]?.unit, 1);
      break;
    }
    assert.equal(await ledger.issuedCount("big"), count);
  });

  it("holds: a pending hold is written held; its confirmation issues it at the confirmation's time; repeats and stale snapshots change nothing", async (t) => {
    const { ledger } = await open(t);
    await ledger.createCampaign(holdCampaign("h"));
    assert.equal((await ledger.getCampaign("h"))?.holdSeconds, HOLD_SECONDS);
    const a = hold("h", 1);
    const { expiresAt: _, ...b } = hold("h", 2); // no expiresAt: the ledger computes it from the campaign
    const first = await ledger.write([a, b], T0 + 100);
    assert.deepEqual(first, { ...none, written: [heldAs(a), heldAs(b)], changed: [heldAs(a), heldAs(b)] });
    assert.deepEqual(await ledger.counts("h"), { issued: 0, held: 2 });
    assert.equal(await ledger.issuedCount("h"), 0);
    assert.deepEqual(await ledger.write([a], T0 + 200), { ...none, written: [heldAs(a)] }, "a redelivery");

    const confirm = confirmed(a, T0 + 150);
    const issued = { ...heldAs(a), status: "issued" as const, issuedAt: T0 + 150 };
    assert.deepEqual(await ledger.write([confirm], T0 + 300), {
      ...none,
      written: [issued],
      changed: [issued],
    });
    assert.deepEqual(await ledger.findClaim(a.claimId), issued);
    assert.deepEqual(
      await ledger.write([a], T0 + 400),
      { ...none, behind: [issued] },
      "the pending snapshot is stale",
    );
    assert.deepEqual(await ledger.write([confirm], T0 + 500), { ...none, written: [issued] }, "a repeat");
    for (const status of ["expired", "released"] as const) {
      const late = ended(a, status, T0 + 600);
      assert.deepEqual(await ledger.write([late], T0 + 600), {
        ...none,
        conflicts: [{ snapshot: late, reason: "final", blocker: issued }],
      });
    }
    assert.deepEqual(await ledger.counts("h"), { issued: 1, held: 1 });
  });

  it("holds: expired and released end a held claim once; a final state never changes; a final snapshot of an absent claim inserts it", async (t) => {
    const { ledger } = await open(t);
    await ledger.createCampaign(holdCampaign("h"));
    const [a, b] = [hold("h", 1), hold("h", 2)];
    await ledger.write([a!, b!], T0);
    const expired = { ...heldAs(a!), status: "expired" as const, endedAt: T0 + 5 };
    const released = { ...heldAs(b!), status: "released" as const, endedAt: T0 + 6 };
    const ends = [ended(a!, "expired", T0 + 5), ended(b!, "released", T0 + 6)];
    assert.deepEqual(await ledger.write(ends, T0 + 10), {
      ...none,
      written: [expired, released],
      changed: [expired, released],
    });
    assert.deepEqual(await ledger.write(ends, T0 + 20), { ...none, written: [expired, released] });
    for (const snapshot of [ended(a!, "released", T0 + 30), confirmed(a!, T0 + 30)])
      assert.deepEqual(await ledger.write([snapshot], T0 + 30), {
        ...none,
        conflicts: [{ snapshot, reason: "final", blocker: expired }],
      });
    assert.deepEqual(await ledger.write([a!, b!], T0 + 40), { ...none, behind: [expired, released] });
    assert.deepEqual(await ledger.counts("h"), { issued: 0, held: 0 });

    // Snapshots may overtake each other on some queues: a final one inserts its claim.
    const c = hold("h", 3);
    const { expiresAt: _, ...d } = hold("h", 4);
    const cEnded = { ...heldAs(c), status: "expired" as const, endedAt: T0 + 50 };
    const dIssued = { ...heldAs(d), status: "issued" as const, issuedAt: T0 + 55 };
    const inserted = await ledger.write([ended(c, "expired", T0 + 50), confirmed(d, T0 + 55)], T0 + 60);
    assert.deepEqual(inserted, { ...none, written: [cEnded, dIssued], changed: [cEnded, dIssued] });
    assert.deepEqual(await ledger.write([c, d], T0 + 70), { ...none, behind: [cEnded, dIssued] });
    assert.deepEqual(await ledger.counts("h"), { issued: 1, held: 0 });
  });

  it("holds: a unit and a user slot given back by an ended hold are handed out again; until then the ledger names the hold in the way", async (t) => {
    const { ledger } = await open(t);
    await ledger.createCampaign(holdCampaign("h", { perUserLimit: 1 }));
    const a = hold("h", 1, { userId: "alice" });
    await ledger.write([a], T0);
    const b = hold("h", 1, { userId: "bob" });
    const again = hold("h", 5, { userId: "alice", seq: 1 });
    assert.deepEqual(await ledger.write([b, again], T0 + 10), {
      ...none,
      conflicts: [
        { snapshot: b, reason: "taken", blocker: heldAs(a) },
        { snapshot: again, reason: "taken", blocker: heldAs(a) },
      ],
    });
    await ledger.write([ended(a, "expired", T0 + 20)], T0 + 20);
    assert.deepEqual(await ledger.write([b, again], T0 + 30), {
      ...none,
      written: [heldAs(b), heldAs(again)],
      changed: [heldAs(b), heldAs(again)],
    });

    // In one batch, the claim reusing a unit may come before the end that frees it.
    const c = hold("h", 1, { userId: "carol" });
    const bReleased = { ...heldAs(b), status: "released" as const, endedAt: T0 + 40 };
    assert.deepEqual(await ledger.write([c, ended(b, "released", T0 + 40)], T0 + 40), {
      ...none,
      written: [heldAs(c), bReleased],
      changed: [heldAs(c), bReleased],
    });
    // An active claim of that unit is still refused.
    const d = hold("h", 1, { userId: "dave" });
    assert.deepEqual((await ledger.write([d], T0 + 50)).conflicts, [
      { snapshot: d, reason: "taken", blocker: heldAs(c) },
    ]);

    assert.deepEqual(await ledger.userClaims("h", "alice"), [
      { ...heldAs(a), status: "expired", endedAt: T0 + 20 },
      heldAs(again),
    ]);
    const active: Claim[] = [];
    for await (const x of ledger.campaignClaims("h")) active.push(x);
    assert.deepEqual(active, [heldAs(c), heldAs(again)], "active claims only, in unit order");
    assert.deepEqual(await ledger.counts("h"), { issued: 0, held: 2 });
  });

  it("holds: a batch with several snapshots of one claim applies the most advanced; contradicting ones are conflicts", async (t) => {
    const { ledger } = await open(t);
    await ledger.createCampaign(holdCampaign("h"));
    const [a, b] = [hold("h", 1), hold("h", 2)];
    const aIssued = { ...heldAs(a!), status: "issued" as const, issuedAt: T0 + 5 };
    assert.deepEqual(await ledger.write([a!, confirmed(a!, T0 + 5), a!], T0 + 10), {
      ...none,
      written: [aIssued],
      changed: [aIssued],
    });
    const bExpired = { ...heldAs(b!), status: "expired" as const, endedAt: T0 + 6 };
    const contradiction = confirmed(b!, T0 + 7);
    assert.deepEqual(await ledger.write([b!, ended(b!, "expired", T0 + 6), contradiction], T0 + 10), {
      ...none,
      written: [bExpired],
      changed: [bExpired],
      conflicts: [{ snapshot: contradiction, reason: "final", blocker: bExpired }],
    });
  });

  it("exportClaims: every claim in a final state (issued, expired, released), never a held one, by unit then claim, over several pages", async (t) => {
    const { ledger } = await open(t);
    const units = 400;
    await ledger.createCampaign(holdCampaign("h", { stock: units + 50 }));
    const round = (name: string) =>
      Array.from({ length: units }, (_, i) => hold("h", i + 1, { userId: `${name}-${i + 1}` }));
    // Each unit is held three times: expired, released, then confirmed.
    const [x, y, z] = [round("x"), round("y"), round("z")];
    await ledger.write(x, T0);
    await ledger.write(
      x.map((c) => ended(c, "expired", T0 + 1)),
      T0 + 1,
    );
    await ledger.write(y, T0 + 2);
    await ledger.write(
      y.map((c) => ended(c, "released", T0 + 3)),
      T0 + 3,
    );
    await ledger.write(z, T0 + 4);
    await ledger.write(
      z.map((c) => confirmed(c, T0 + 5)),
      T0 + 6,
    );
    const heldOnly = Array.from({ length: 50 }, (_, i) => hold("h", units + i + 1));
    await ledger.write(heldOnly, T0 + 7);

    const pages: (readonly Claim[])[] = [];
    for await (const page of ledger.exportClaims("h")) pages.push(page);
    assert.ok(pages.length > 2, `${pages.length} page(s)`);
    const exported = pages.flat();
    assert.equal(exported.length, 3 * units);
    for (let i = 1; i < exported.length; i++) {
      const [p, c] = [exported[i - 1]!, exported[i]!];
      assert.ok(p.unit < c.unit || (p.unit === c.unit && p.claimId < c.claimId), `in order at ${i}`);
    }
    assert.deepEqual(ids(exported), ids([...x, ...y, ...z]));
    const byId = new Map(exported.map((c) => [c.claimId, c]));
    assert.deepEqual(byId.get(x[0]!.claimId), { ...heldAs(x[0]!), status: "expired", endedAt: T0 + 1 });
    assert.deepEqual(byId.get(y[9]!.claimId), { ...heldAs(y[9]!), status: "released", endedAt: T0 + 3 });
    assert.deepEqual(byId.get(z[99]!.claimId), { ...heldAs(z[99]!), status: "issued", issuedAt: T0 + 5 });

    const active: Claim[] = [];
    for await (const c of ledger.campaignClaims("h")) active.push(c);
    assert.deepEqual(
      active.map((c) => [c.unit, c.status]),
      [...z.map((c) => [c.unit, "issued"]), ...heldOnly.map((c) => [c.unit, "held"])],
    );
    assert.deepEqual(await ledger.counts("h"), { issued: units, held: 50 });
  });

  it("deliveries: each claim that reaches a final state under a webhook gets one delivery of its event; a held claim none", async (t) => {
    const { ledger, deliveries } = await open(t);
    await ledger.createCampaign(holdCampaign("h"));
    await deliveries.setWebhook("h", webhook(), audit("h", "webhook_set", T0), false);
    const [a, b, c] = [hold("h", 1), hold("h", 2), hold("h", 3)];
    await ledger.write([a!, b!, c!], T0 + 10);
    assert.equal(await deliveries.nextDueAt(), undefined, "held: nothing to announce yet");
    const finals = [confirmed(a!, T0 + 50), ended(b!, "expired", T0 + 60), ended(c!, "released", T0 + 70)];
    const written = (await ledger.write(finals, T0 + 100)).written;
    await ledger.write(finals, T0 + 200); // a redelivery adds nothing
    const due = await deliveries.claimDue(T0 + 200, 10, T0 + 1000);
    assert.deepEqual(
      due.sort((p, q) => p.claim.unit - q.claim.unit),
      written.map((claim, i) => {
        const event = (["claim.issued", "claim.expired", "claim.released"] as const)[i]!;
        return {
          deliveryId: deliveryIdOf(claim.claimId, event),
          event,
          claim,
          attempt: 1,
          url: webhook().url,
          secret: webhook().secret,
        };
      }),
    );
    assert.deepEqual(
      due.map((d) => d.deliveryId),
      [`iss_${a!.claimId}`, `iss_${b!.claimId}.expired`, `iss_${c!.claimId}.released`],
    );
    await deliveries.markFailed([{ claimId: c!.claimId, error: "gone", nextAttemptAt: null }]);
    const [dead] = await deliveries.listDead("h", "", 10);
    assert.deepEqual([dead?.deliveryId, dead?.event], [`iss_${c!.claimId}.released`, "claim.released"]);
    const replay = audit("h", "deliveries_replayed", T0 + 300);
    assert.equal(await deliveries.replayDead("h", [dead!.deliveryId], T0 + 300, replay), 1);

    // Backfill: the claims already final get theirs, held ones none.
    await ledger.createCampaign(holdCampaign("h2"));
    const [d, e, f] = [hold("h2", 1), hold("h2", 2), hold("h2", 3)];
    await ledger.write([d!, e!, f!], T0);
    await ledger.write([confirmed(d!, T0 + 1), ended(e!, "expired", T0 + 2)], T0 + 3);
    assert.equal(await deliveries.setWebhook("h2", webhook(), audit("h2", "webhook_set", T0 + 400), true), 2);
    const backfilled = await deliveries.claimDue(T0 + 400, 10, T0 + 500);
    assert.deepEqual(
      backfilled
        .filter((x) => x.claim.campaignId === "h2")
        .map((x) => [x.claim.claimId, x.event])
        .sort(),
      [
        [d!.claimId, "claim.issued"],
        [e!.claimId, "claim.expired"],
      ].sort(),
    );
  });

  it("lifecycle: a change is recorded with its audit entry; an older revision never overwrites a newer", async (t) => {
    const { ledger, lifecycle } = await open(t);
    const c1 = campaign("c1");
    await ledger.createCampaign(c1);
    await ledger.createCampaign(campaign("c2"));
    const paused = audit("c1", "update", T0 + 1, { status: "paused" });
    const late = audit("c1", "close", T0 + 2, { status: "closed" });
    await lifecycle.recordCampaignChange({ ...c1, status: "paused", stock: 7, revision: 2 }, paused);
    await lifecycle.recordCampaignChange({ ...c1, status: "closed", endsAt: T0, revision: 1 }, late);
    await lifecycle.recordCampaignChange(
      campaign("c2", { status: "closed", revision: 1 }),
      audit("c2", "close", 3),
    );
    assert.deepEqual(await ledger.getCampaign("c1"), { ...c1, status: "paused", stock: 7, revision: 2 });

    const log = await lifecycle.auditLog("c1", 0, 10);
    assert.deepEqual(
      log.map(({ id: _, ...entry }) => entry),
      [paused, late],
      "every change is audited, applied or not",
    );
    assert.ok(log[0]!.id < log[1]!.id);
    assert.deepEqual(await lifecycle.auditLog("c1", log[0]!.id, 10), [log[1]]);
    assert.deepEqual(await lifecycle.auditLog("c1", 0, 1), [log[0]]);
    assert.deepEqual(await lifecycle.auditLog("c1", log[1]!.id, 10), []);
  });

  it("eraseUser: the user's claims keep their units under tombstones, without key or pending delivery", async (t) => {
    const { ledger, lifecycle, deliveries } = await open(t);
    await ledger.createCampaign(campaign("c1", { perUserLimit: 2 }));
    await deliveries.setWebhook("c1", webhook(), audit("c1", "webhook_set", T0), false);
    const delivered = claim("c1", 1, { userId: "alice", idempotencyKey: "k1" });
    const pending = claim("c1", 2, { userId: "alice", seq: 2 });
    const bobs = claim("c1", 3, { userId: "bob" });
    await ledger.write([delivered, pending, bobs], T0 + 10);
    await deliveries.markDelivered([delivered.claimId], T0 + 20);

    const erasure = audit("c1", "erase_user", T0 + 30, { user: "hashed" });
    const erased = await lifecycle.eraseUser("c1", "alice", erasure);
    assert.deepEqual(erased.sort(), ids([delivered, pending]));
    assert.deepEqual(await ledger.userClaims("c1", "alice"), []);
    assert.deepEqual(await ledger.findClaim(delivered.claimId), {
      ...issuedAs(delivered, T0 + 10),
      userId: erasedUserId(delivered.claimId),
      idempotencyKey: undefined,
    });
    assert.equal(await ledger.issuedCount("c1"), 3);
    // The units stay held: the ledger still refuses a second holder.
    const thief = claim("c1", 2, { userId: "carol" });
    assert.deepEqual(
      (await ledger.write([thief], T0 + 40)).conflicts.map((c) => c.snapshot),
      [thief],
    );
    // The pending delivery went with the user; bob's stays due.
    const due = await deliveries.claimDue(T0 + 50, 10, T0 + 60);
    assert.deepEqual(
      due.map((d) => d.claim.claimId),
      [bobs.claimId],
    );
    const log = await lifecycle.auditLog("c1", 0, 10);
    assert.deepEqual(log.at(-1)?.details, { user: "hashed", claims: 2 });

    assert.deepEqual(await lifecycle.eraseUser("c1", "nobody", undefined), []);
    assert.equal(
      (await lifecycle.auditLog("c1", 0, 10)).length,
      log.length,
      "no audit entry when none is given",
    );
  });

  it("deliveries: claims issued under a webhook are leased, retried, parked as dead and replayed", async (t) => {
    const { ledger, deliveries, lifecycle } = await open(t);
    await ledger.createCampaign(campaign("c1"));
    assert.equal(await deliveries.nextDueAt(), undefined);
    assert.equal(await deliveries.setWebhook("c1", webhook(), audit("c1", "webhook_set", T0), false), 0);
    assert.deepEqual(await deliveries.getWebhook("c1"), webhook());
    assert.equal(await deliveries.getWebhook("c2"), undefined);
    const [a, b, c] = [claim("c1", 1), claim("c1", 2), claim("c1", 3)];
    await ledger.write([a!, b!, c!], T0 + 100);
    assert.equal(await deliveries.nextDueAt(), T0 + 100);
    assert.deepEqual(await deliveries.claimDue(T0 + 99, 10, T0 + 1000), [], "not due yet");

    const leased = await deliveries.claimDue(T0 + 100, 10, T0 + 1000);
    assert.deepEqual(
      leased.sort((x, y) => x.claim.unit - y.claim.unit),
      [a!, b!, c!].map((x) => ({
        deliveryId: deliveryIdOf(x.claimId),
        event: "claim.issued",
        claim: issuedAs(x, T0 + 100),
        attempt: 1,
        url: webhook().url,
        secret: webhook().secret,
      })),
    );
    assert.deepEqual(await deliveries.claimDue(T0 + 999, 10, T0 + 2000), [], "leased");
    assert.equal(await deliveries.nextDueAt(), T0 + 1000);

    await deliveries.markDelivered([a!.claimId], T0 + 200);
    await deliveries.markFailed([
      { claimId: b!.claimId, error: "503 from the shop", nextAttemptAt: T0 + 300 },
      { claimId: c!.claimId, error: "x".repeat(2000), nextAttemptAt: null },
    ]);
    const retried = await deliveries.claimDue(T0 + 300, 10, T0 + 400);
    assert.deepEqual(
      retried.map((d) => [d.claim.claimId, d.attempt]),
      [[b!.claimId, 2]],
    );
    await deliveries.markDelivered([b!.claimId], T0 + 350);
    assert.equal(await deliveries.deadCount("c1"), 1);
    const dead = await deliveries.listDead("c1", "", 10);
    assert.equal(dead.length, 1);
    assert.deepEqual(
      { ...dead[0]!, lastError: dead[0]!.lastError?.length },
      {
        deliveryId: deliveryIdOf(c!.claimId),
        claimId: c!.claimId,
        event: "claim.issued",
        campaignId: "c1",
        state: "dead",
        attempts: 1,
        nextAttemptAt: T0 + 1000,
        lastError: 500,
        createdAt: T0 + 100,
        deliveredAt: null,
      },
    );
    assert.deepEqual(await deliveries.listDead("c1", c!.claimId, 10), []);

    const replay = audit("c1", "deliveries_replayed", T0 + 500);
    assert.equal(
      await deliveries.replayDead("c1", ["not-a-delivery", deliveryIdOf(c!.claimId)], T0 + 500, replay),
      1,
    );
    assert.equal(await deliveries.deadCount("c1"), 0);
    const again = await deliveries.claimDue(T0 + 500, 10, T0 + 600);
    assert.deepEqual(
      again.map((d) => [d.claim.claimId, d.attempt]),
      [[c!.claimId, 1]],
      "replayed with its attempts from 0",
    );
    await deliveries.markFailed([{ claimId: c!.claimId, error: "gone", nextAttemptAt: null }]);
    assert.equal(await deliveries.replayDead("c1", undefined, T0 + 700, replay), 1, "every dead one");
    const actions = (await lifecycle.auditLog("c1", 0, 10)).map((e) => [e.action, e.details.replayed]);
    assert.deepEqual(actions, [
      ["webhook_set", undefined],
      ["deliveries_replayed", 1],
      ["deliveries_replayed", 1],
    ]);
  });

  it("deliveries: none without a webhook; backfill adds them; removing the webhook parks them until set again", async (t) => {
    const { ledger, deliveries, lifecycle } = await open(t);
    await ledger.createCampaign(campaign("c1"));
    const before = [claim("c1", 1), claim("c1", 2)];
    await ledger.write(before, T0);
    assert.deepEqual(await deliveries.claimDue(T0 + 10, 10, T0 + 20), []);
    assert.equal(await deliveries.nextDueAt(), undefined);

    assert.equal(await deliveries.setWebhook("c1", webhook(), audit("c1", "webhook_set", T0 + 100), true), 2);
    assert.equal((await lifecycle.auditLog("c1", 0, 10))[0]?.details.backfilled, 2);
    assert.equal(await deliveries.nextDueAt(), T0 + 100);
    const after = claim("c1", 3);
    await ledger.write([after], T0 + 200);

    await deliveries.setWebhook("c1", null, audit("c1", "webhook_removed", T0 + 300), false);
    assert.equal(await deliveries.getWebhook("c1"), undefined);
    assert.equal(await deliveries.nextDueAt(), undefined, "parked");
    assert.deepEqual(await deliveries.claimDue(Number.MAX_SAFE_INTEGER - 1, 10, T0), []);

    const moved = webhook("https://shop.example/v2");
    assert.equal(await deliveries.setWebhook("c1", moved, audit("c1", "webhook_set", T0 + 400), false), 0);
    assert.equal(await deliveries.nextDueAt(), T0 + 400, "due again from the moment it is set");
    const due = await deliveries.claimDue(T0 + 400, 10, T0 + 500);
    assert.deepEqual(ids(due.map((d) => d.claim)), ids([...before, after]));
    assert.ok(due.every((d) => d.url === moved.url && d.attempt === 1));
  });
}
