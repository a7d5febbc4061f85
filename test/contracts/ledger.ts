import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { type TestContext, test } from "node:test";
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

  it("issue: new claims are issued at the batch's time; a redelivery is issued again as first written", async (t) => {
    const { ledger } = await open(t);
    await ledger.createCampaign(campaign("c1"));
    const batch = [claim("c1", 1), claim("c1", 2, { idempotencyKey: "key-2" }), claim("c1", 3)];
    assert.deepEqual(await ledger.issue(batch, T0 + 1000), {
      issued: batch.map((c) => issuedAs(c, T0 + 1000)),
      conflicts: [],
    });
    const fresh = claim("c1", 4);
    const again = await ledger.issue([batch[1]!, fresh, batch[0]!], T0 + 2000);
    assert.deepEqual(again, {
      issued: [issuedAs(batch[1]!, T0 + 1000), issuedAs(fresh, T0 + 2000), issuedAs(batch[0]!, T0 + 1000)],
      conflicts: [],
    });
    assert.equal(await ledger.issuedCount("c1"), 4);

    // A batch may carry one claim twice (the queue redelivered it): written once.
    const twice = claim("c1", 5);
    const result = await ledger.issue([twice, twice], T0 + 3000);
    assert.deepEqual(result.issued, [issuedAs(twice, T0 + 3000)]);
    assert.equal(await ledger.issuedCount("c1"), 5);
    assert.deepEqual(await ledger.issue([], T0), { issued: [], conflicts: [] });
  });

  it("issue: another claim on a held unit, user slot or coupon code is a conflict; the rest is issued", async (t) => {
    const { ledger } = await open(t);
    await ledger.createCampaign(campaign("c1", { perUserLimit: 2 }));
    await ledger.createCampaign(campaign("c2"));
    const held = claim("c1", 1, { userId: "alice" });
    await ledger.issue([held], T0);
    const sameUnit = claim("c1", 1, { userId: "bob" });
    const sameSlot = claim("c1", 7, { userId: "alice", seq: 1 });
    const sameCode = claim("c1", 8, { couponCode: held.couponCode });
    const secondSlot = claim("c1", 9, { userId: "alice", seq: 2 });
    const otherCampaign = claim("c2", 1, { userId: "alice" });
    const result = await ledger.issue([sameUnit, sameSlot, secondSlot, sameCode, otherCampaign], T0 + 1);
    assert.deepEqual(result.conflicts, [sameUnit, sameSlot, sameCode]);
    assert.deepEqual(result.issued, [issuedAs(secondSlot, T0 + 1), issuedAs(otherCampaign, T0 + 1)]);
    assert.equal(await ledger.issuedCount("c1"), 2);
    assert.equal(await ledger.issuedCount("c2"), 1);
    assert.equal(await ledger.findClaim(sameUnit.claimId), undefined);
  });

  it("findClaim, userClaims and issuedCount read what was issued", async (t) => {
    const { ledger } = await open(t);
    await ledger.createCampaign(campaign("c1", { perUserLimit: 3 }));
    await ledger.createCampaign(campaign("empty"));
    const second = claim("c1", 2, { userId: "alice", seq: 2, idempotencyKey: "k" });
    const first = claim("c1", 5, { userId: "alice", seq: 1 });
    await ledger.issue([second, claim("c1", 3)], T0 + 10);
    await ledger.issue([first], T0 + 20);
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
  });

  it("campaignClaims and exportClaims: every claim of the campaign in unit order, over several pages", async (t) => {
    const { ledger } = await open(t);
    const count = 5100; // more than a page of either engine's campaignClaims and exportClaims
    await ledger.createCampaign(campaign("big", { stock: count }));
    await ledger.createCampaign(campaign("other"));
    await ledger.createCampaign(campaign("empty"));
    const claims = Array.from({ length: count }, (_, i) => claim("big", count - i));
    for (let i = 0; i < count; i += 1000) await ledger.issue(claims.slice(i, i + 1000), T0);
    await ledger.issue([claim("other", 1), claim("other", 2)], T0);
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
    await ledger.issue([delivered, pending, bobs], T0 + 10);
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
    assert.deepEqual((await ledger.issue([thief], T0 + 40)).conflicts, [thief]);
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
    await ledger.issue([a!, b!, c!], T0 + 100);
    assert.equal(await deliveries.nextDueAt(), T0 + 100);
    assert.deepEqual(await deliveries.claimDue(T0 + 99, 10, T0 + 1000), [], "not due yet");

    const leased = await deliveries.claimDue(T0 + 100, 10, T0 + 1000);
    assert.deepEqual(
      leased.sort((x, y) => x.claim.unit - y.claim.unit),
      [a!, b!, c!].map((x) => ({
        deliveryId: deliveryIdOf(x.claimId),
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
    await ledger.issue(before, T0);
    assert.deepEqual(await deliveries.claimDue(T0 + 10, 10, T0 + 20), []);
    assert.equal(await deliveries.nextDueAt(), undefined);

    assert.equal(await deliveries.setWebhook("c1", webhook(), audit("c1", "webhook_set", T0 + 100), true), 2);
    assert.equal((await lifecycle.auditLog("c1", 0, 10))[0]?.details.backfilled, 2);
    assert.equal(await deliveries.nextDueAt(), T0 + 100);
    const after = claim("c1", 3);
    await ledger.issue([after], T0 + 200);

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
