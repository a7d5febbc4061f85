import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { StampedeError } from "../../src/domain/errors.ts";
import type { Claim } from "../../src/domain/types.ts";
import { embeddedPorts, rejectsWith } from "../helpers/embedded-ports.ts";
import { eventually } from "../helpers/wait.ts";

/**
 * Holds through the services both modes use (docs/api.md "Holds"), over the
 * embedded adapters: campaigns with holdSeconds, their counters, confirm and
 * release with every answer, and what only the ledger still knows.
 */
const ip = "127.0.0.1";
const UNKNOWN = "AAAAAAAAAAAAAAAAAAAAAA";

test("create: holdSeconds from HOLD_MIN_SECONDS to 3600, else invalid_request naming it", async (t) => {
  const { services } = await embeddedPorts(t, { holdMinSeconds: 30 });
  for (const holdSeconds of [29, 3601, 0, 1.5]) {
    const error = await rejectsWith(
      services.campaigns.create({ name: "H", stock: 1, holdSeconds }),
      "invalid_request",
    );
    assert.match(error.message, /holdSeconds/);
    assert.match(error.message, /30 to 3600/);
  }
  const held = await services.campaigns.create({ id: "h", name: "H", stock: 4, holdSeconds: 30 });
  assert.equal(held.campaign.holdSeconds, 30);
  assert.deepEqual(held.counts, { issued: 0, pending: 0, held: 0, remaining: 4 });
  assert.equal((await services.campaigns.get("h")).campaign.holdSeconds, 30, "admission knows it");
  assert.equal(
    (await services.campaigns.create({ id: "max", name: "M", stock: 1, holdSeconds: 3600 })).campaign
      .holdSeconds,
    3600,
  );
  const plain = await services.campaigns.create({ id: "plain", name: "P", stock: 1 });
  assert.equal(plain.campaign.holdSeconds ?? null, null);
  // The minimum is the service's setting: lowered for tests, the schema's 1 applies.
  const { services: lowered } = await embeddedPorts(t, { holdMinSeconds: 1 });
  assert.equal(
    (await lowered.campaigns.create({ name: "L", stock: 1, holdSeconds: 1 })).campaign.holdSeconds,
    1,
  );
});

test("counters: pending until the ledger holds it, then held; confirmed is pending until issued; remaining throughout", async (t) => {
  const { services, worker } = await embeddedPorts(t, { holdMinSeconds: 1 });
  await services.campaigns.create({ id: "h", name: "H", stock: 5, holdSeconds: 60 });
  const a = await services.claims.claim({ campaignId: "h", userId: "a", clientIp: ip });
  const b = await services.claims.claim({ campaignId: "h", userId: "b", clientIp: ip });
  assert.equal(a.status, "pending");
  assert.equal(a.expiresAt, a.admittedAt + 60_000);
  const counts = async () => (await services.campaigns.get("h")).counts;
  assert.deepEqual(await counts(), { issued: 0, pending: 2, held: 0, remaining: 3 });
  worker.start();
  await eventually(async () => (await counts()).held === 2);
  assert.deepEqual(await counts(), { issued: 0, pending: 0, held: 2, remaining: 3 });
  assert.equal((await services.claims.get(a.claimId)).status, "held");

  await worker.stop();
  const confirmed = await services.claims.confirm(a.claimId);
  assert.deepEqual([confirmed.status, confirmed.couponCode], ["issued", a.couponCode]);
  assert.deepEqual(
    await counts(),
    { issued: 0, pending: 1, held: 1, remaining: 3 },
    "confirmed, not yet written",
  );
  const released = await services.claims.release(b.claimId);
  assert.equal(released.status, "released");
  assert.ok(released.endedAt! >= b.admittedAt);
  assert.deepEqual(
    await counts(),
    { issued: 0, pending: 1, held: 0, remaining: 4 },
    "the unit is back at once",
  );
  worker.start();
  await eventually(async () => (await counts()).issued === 1);
  assert.deepEqual(await counts(), { issued: 1, pending: 0, held: 0, remaining: 4 });
  // The released user may claim again, and gets the unit back.
  const again = await services.claims.claim({ campaignId: "h", userId: "b", clientIp: ip });
  assert.deepEqual([again.unit, again.seq], [b.unit, 1]);
  assert.deepEqual(
    (await services.claims.userClaims("h", "b")).map((c) => c.status),
    ["released", "pending"],
  );
});

test("confirm and release: repeats, already final, expired, unknown, not a hold", async (t) => {
  const { services } = await embeddedPorts(t, { holdMinSeconds: 1 });
  await services.campaigns.create({ id: "h", name: "H", stock: 5, holdSeconds: 1 });
  await services.campaigns.create({ id: "plain", name: "P", stock: 5 });
  const claim = (campaignId: string, userId: string) =>
    services.claims.claim({ campaignId, userId, clientIp: ip });
  const a = await claim("h", "a");
  const b = await claim("h", "b");
  const late = await claim("h", "late");
  // a confirmed: a repeat answers the same; a release is already_confirmed.
  const first = await services.claims.confirm(a.claimId);
  assert.equal((await services.claims.confirm(a.claimId)).issuedAt, first.issuedAt);
  await rejectsWith(services.claims.release(a.claimId), "already_confirmed");
  // b released: a repeat answers the same; a confirm is hold_expired.
  const released = await services.claims.release(b.claimId);
  assert.equal((await services.claims.release(b.claimId)).endedAt, released.endedAt);
  const refused = await rejectsWith(services.claims.confirm(b.claimId), "hold_expired");
  assert.match(refused.message, /released/);
  // late: past expiresAt, both answer hold_expired and it is expired.
  await sleep(Math.max(0, late.expiresAt! - Date.now()) + 20);
  await rejectsWith(services.claims.confirm(late.claimId), "hold_expired");
  await rejectsWith(services.claims.release(late.claimId), "hold_expired");
  assert.equal((await services.claims.get(late.claimId)).status, "expired");
  // Unknown, and a claim without holds.
  await rejectsWith(services.claims.confirm(UNKNOWN), "claim_not_found");
  await rejectsWith(services.claims.release(UNKNOWN), "claim_not_found");
  const plain = await claim("plain", "p");
  const notHold = await rejectsWith(services.claims.confirm(plain.claimId), "invalid_request");
  assert.match(notHold.message, /no holds/);
  await rejectsWith(services.claims.release(plain.claimId), "invalid_request");
});

test("authorize sees the claim first: a refusal decides nothing", async (t) => {
  const { services } = await embeddedPorts(t, { holdMinSeconds: 1 });
  await services.campaigns.create({ id: "h", name: "H", stock: 1, holdSeconds: 60 });
  const alice = await services.claims.claim({ campaignId: "h", userId: "alice", clientIp: ip });
  const onlyBob = (claim: Claim) => {
    if (claim.userId !== "bob") throw new StampedeError("forbidden");
  };
  await rejectsWith(services.claims.release(alice.claimId, onlyBob), "forbidden");
  await rejectsWith(services.claims.confirm(alice.claimId, onlyBob), "forbidden");
  assert.equal((await services.claims.get(alice.claimId)).status, "pending");
  assert.equal((await services.campaigns.get("h")).counts.remaining, 0);
  await rejectsWith(services.claims.confirm(UNKNOWN, onlyBob), "claim_not_found");
});

test("holds only the ledger still knows (admission forgot them): its final status answers", async (t) => {
  const { services, ledger } = await embeddedPorts(t, { holdMinSeconds: 1 });
  await services.campaigns.create({ id: "h", name: "H", stock: 5, holdSeconds: 60 });
  const row = (claimId: string, unit: number, status: Claim["status"]): Claim => ({
    claimId,
    campaignId: "h",
    userId: `user-${unit}`,
    seq: 1,
    unit,
    couponCode: `CODE-${unit}`,
    admittedAt: 1000,
    expiresAt: 61_000,
    status,
    issuedAt: status === "issued" ? 2000 : undefined,
    endedAt: status === "expired" || status === "released" ? 3000 : undefined,
  });
  const ids = {
    issued: "ISSUED00000000000000001",
    expired: "EXPIRED0000000000000001",
    released: "RELEASED000000000000001",
    held: "HELD0000000000000000001",
  };
  const written = await ledger.write(
    [
      row(ids.issued, 1, "issued"),
      row(ids.expired, 2, "expired"),
      row(ids.released, 3, "released"),
      row(ids.held, 4, "pending"),
    ],
    5000,
  );
  assert.equal(written.conflicts.length, 0);
  assert.equal((await services.claims.confirm(ids.issued)).status, "issued");
  await rejectsWith(services.claims.release(ids.issued), "already_confirmed");
  await rejectsWith(services.claims.confirm(ids.expired), "hold_expired");
  await rejectsWith(services.claims.release(ids.expired), "hold_expired");
  await rejectsWith(services.claims.confirm(ids.released), "hold_expired");
  assert.equal((await services.claims.release(ids.released)).status, "released");
  // A held hold admission does not know cannot be decided here: retry later.
  await rejectsWith(services.claims.confirm(ids.held), "unavailable");
});

test("watch: a confirmation reaches the stream at once, before the worker writes it", async (t) => {
  const { services } = await embeddedPorts(t, { holdMinSeconds: 1 });
  await services.campaigns.create({ id: "h", name: "H", stock: 1, holdSeconds: 60 });
  const claim = await services.claims.claim({ campaignId: "h", userId: "a", clientIp: ip });
  const watched = await services.claims.watch(claim.claimId);
  t.after(() => watched.stop());
  const seen: string[] = [];
  watched.listen((c) => seen.push(c.status));
  await services.claims.confirm(claim.claimId);
  await eventually(() => seen.includes("issued"), 2000, "the stream hears of the confirmation");
});
