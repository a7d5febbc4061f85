import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { type TestContext, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { parseRate, type RateLimitOptions } from "../../src/domain/rate-policy.ts";
import type { Campaign, Claim } from "../../src/domain/types.ts";
import type { AdmissionStore, AdmitOutcome, ChangeOutcome, HoldOutcome } from "../../src/ports/admission.ts";

/**
 * What every AdmissionStore must do, run against each adapter: the embedded
 * MemoryAdmission (journal queue), RedisAdmission with the stream sink, and
 * RedisAdmission behind Kafka mode's KafkaAdmission (outbox sink). Only the
 * port's behaviour is checked here; what one adapter adds (the sold-out
 * cache, rebuilds, the outbox relay) has its own tests.
 */
export interface AdmissionHarness {
  store: AdmissionStore;
  /** Makes a campaign known as the app does: in the ledger first (where the mode has one), then putCampaign. */
  create(campaign: Campaign): Promise<void>;
  /** What a worker does with admitted claims: the ledger first (where the mode has one), then markWritten. */
  issue(claims: readonly Claim[]): Promise<void>;
  /**
   * What a worker does with any claim snapshots (holds: pending, issued,
   * expired, released): the ledger applies them (a pending hold is held
   * there), then admission hears what the ledger now holds (markWritten).
   */
  write(snapshots: readonly Claim[]): Promise<void>;
}

export interface HarnessOptions {
  /** The claim rate limits the store applies (RATE_LIMIT_USER / RATE_LIMIT_IP). */
  rateLimit?: RateLimitOptions;
}

export type OpenAdmission = (t: TestContext, options?: HarnessOptions) => Promise<AdmissionHarness>;

const HOUR = 3_600_000;

function campaign(overrides: Partial<Campaign> = {}): Campaign {
  return {
    id: `c-${randomBytes(5).toString("hex")}`,
    name: "contract",
    stock: 3,
    perUserLimit: 1,
    startsAt: null,
    endsAt: null,
    createdAt: Date.now(),
    ...overrides,
  };
}

const admitted = (o: AdmitOutcome): Claim => {
  assert.equal(o.kind, "admitted", JSON.stringify(o));
  return (o as { claim: Claim }).claim;
};
const heldClaim = (o: AdmitOutcome): Claim => {
  assert.equal(o.kind, "already_claimed", JSON.stringify(o));
  return (o as { claim: Claim }).claim;
};
function outcome<K extends HoldOutcome["kind"]>(o: HoldOutcome, kind: K): Extract<HoldOutcome, { kind: K }> {
  assert.equal(o.kind, kind, JSON.stringify(o));
  return o as Extract<HoldOutcome, { kind: K }>;
}
const reason = (o: AdmitOutcome) => (o.kind === "not_active" ? o.reason : o.kind);
const changed = (o: ChangeOutcome) => {
  assert.equal(o.kind, "changed", JSON.stringify(o));
  return o as Extract<ChangeOutcome, { kind: "changed" }>;
};

/**
 * `holdsSkip`: why this adapter skips the hold cases (until it implements
 * holds), or false. The hold cases wait for real expiries: campaigns with
 * holdSeconds 1 (the store takes any; HOLD_MIN_SECONDS is the service's).
 */
export function admissionContract(
  name: string,
  open: OpenAdmission,
  skip: string | false = false,
  holdsSkip: string | false = false,
): void {
  const it = (title: string, fn: (t: TestContext) => Promise<void>) =>
    test(`${name}: ${title}`, { skip }, fn);
  const holds = (title: string, fn: (t: TestContext) => Promise<void>) =>
    test(`${name}: holds: ${title}`, { skip: skip || holdsSkip }, fn);

  it("a campaign it was given is known; another is not", async (t) => {
    const { store, create } = await open(t);
    const c = campaign({ stock: 7, perUserLimit: 2 });
    await create(c);
    const known = await store.getCampaign(c.id);
    assert.deepEqual(
      [known?.id, known?.name, known?.stock, known?.perUserLimit, known?.startsAt, known?.endsAt],
      [c.id, c.name, 7, 2, null, null],
    );
    assert.ok((await store.listCampaigns()).some((l) => l.id === c.id));
    assert.equal(await store.getCampaign("never-created"), undefined);
    assert.deepEqual(await store.admit({ campaignId: "never-created", userId: "u1" }), {
      kind: "campaign_not_found",
    });
    assert.equal(await store.counters("never-created"), undefined);
    await store.ping();
  });

  it("admit: a pending claim with a unit and a coupon code; then already_claimed names it", async (t) => {
    const { store, create } = await open(t);
    const c = campaign();
    await create(c);
    const outcome = await store.admit({ campaignId: c.id, userId: "alice" });
    assert.equal(outcome.kind === "admitted" && outcome.replayed, false);
    const claim = admitted(outcome);
    assert.deepEqual(
      [claim.campaignId, claim.userId, claim.seq, claim.status],
      [c.id, "alice", 1, "pending"],
    );
    assert.ok(claim.unit >= 1 && claim.unit <= c.stock);
    assert.ok(claim.claimId.length >= 16 && claim.couponCode.length >= 8, JSON.stringify(claim));
    assert.ok(Math.abs(claim.admittedAt - Date.now()) < 5000);
    const again = await store.admit({ campaignId: c.id, userId: "alice" });
    assert.equal(heldClaim(again).claimId, claim.claimId);
    assert.deepEqual(await store.counters(c.id), { admitted: 1, issued: 0, held: 0 });
  });

  it("perUserLimit: a user takes up to the limit, in seq order; the 409 names the most recent", async (t) => {
    const { store, create } = await open(t);
    const c = campaign({ stock: 5, perUserLimit: 2 });
    await create(c);
    const first = admitted(await store.admit({ campaignId: c.id, userId: "bob" }));
    const second = admitted(await store.admit({ campaignId: c.id, userId: "bob" }));
    assert.deepEqual([first.seq, second.seq], [1, 2]);
    assert.notEqual(first.unit, second.unit);
    assert.equal(heldClaim(await store.admit({ campaignId: c.id, userId: "bob" })).claimId, second.claimId);
    assert.deepEqual(
      (await store.userClaims(c.id, "bob")).map((x) => x.claimId),
      [first.claimId, second.claimId],
    );
    assert.deepEqual(await store.userClaims(c.id, "nobody"), []);
  });

  it("sold_out once every unit is held; a holder still learns its claim", async (t) => {
    const { store, create } = await open(t);
    const c = campaign({ stock: 2 });
    await create(c);
    const a = admitted(await store.admit({ campaignId: c.id, userId: "a" }));
    admitted(await store.admit({ campaignId: c.id, userId: "b" }));
    assert.deepEqual(await store.admit({ campaignId: c.id, userId: "c" }), {
      kind: "sold_out",
      replayed: false,
    });
    assert.equal(heldClaim(await store.admit({ campaignId: c.id, userId: "a" })).claimId, a.claimId);
    assert.deepEqual(await store.counters(c.id), { admitted: 2, issued: 0, held: 0 });
  });

  it("many at once: never more admitted than the stock, each unit once", async (t) => {
    const { store, create } = await open(t);
    const c = campaign({ stock: 5 });
    await create(c);
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, (_, i) => store.admit({ campaignId: c.id, userId: `user-${i}` })),
    );
    const claims = outcomes.filter((o) => o.kind === "admitted").map((o) => admitted(o));
    assert.equal(claims.length, 5);
    assert.equal(outcomes.filter((o) => o.kind === "sold_out").length, 15);
    assert.deepEqual(
      claims.map((x) => x.unit).sort((x, y) => x - y),
      [1, 2, 3, 4, 5],
    );
  });

  it("not_active: before startsAt, from endsAt on", async (t) => {
    const { store, create } = await open(t);
    const early = campaign({ startsAt: Date.now() + HOUR });
    const late = campaign({ startsAt: Date.now() - 2 * HOUR, endsAt: Date.now() - HOUR });
    await create(early);
    await create(late);
    assert.equal(reason(await store.admit({ campaignId: early.id, userId: "u" })), "not_started");
    assert.equal(reason(await store.admit({ campaignId: late.id, userId: "u" })), "ended");
    assert.deepEqual(await store.counters(early.id), { admitted: 0, issued: 0, held: 0 });
  });

  it("an Idempotency-Key repeat answers what the first request was answered, and claims nothing new", async (t) => {
    const { store, create } = await open(t);
    const c = campaign({ stock: 1 });
    await create(c);
    const first = admitted(await store.admit({ campaignId: c.id, userId: "u1", idempotencyKey: "k1" }));
    const repeat = await store.admit({ campaignId: c.id, userId: "u1", idempotencyKey: "k1" });
    assert.equal(repeat.kind === "admitted" && repeat.replayed, true);
    assert.equal(admitted(repeat).claimId, first.claimId);
    const sold = await store.admit({ campaignId: c.id, userId: "u2", idempotencyKey: "k1" });
    assert.deepEqual(sold, { kind: "sold_out", replayed: false }, "the same key of another user");
    assert.deepEqual(await store.admit({ campaignId: c.id, userId: "u2", idempotencyKey: "k1" }), {
      kind: "sold_out",
      replayed: true,
    });
    const held = await store.admit({ campaignId: c.id, userId: "u1", idempotencyKey: "k2" });
    assert.equal(heldClaim(held).claimId, first.claimId);
    assert.deepEqual(await store.counters(c.id), { admitted: 1, issued: 0, held: 0 });
  });

  it("getClaim and userClaims read a pending claim; markWritten counts each claim once", async (t) => {
    const { store, create, issue } = await open(t);
    const c = campaign({ stock: 5 });
    await create(c);
    const a = admitted(await store.admit({ campaignId: c.id, userId: "a" }));
    const b = admitted(await store.admit({ campaignId: c.id, userId: "b" }));
    const read = await store.getClaim(a.claimId);
    assert.deepEqual(
      [read?.claimId, read?.campaignId, read?.userId, read?.status, read?.couponCode, read?.unit],
      [a.claimId, c.id, "a", "pending", a.couponCode, a.unit],
    );
    assert.equal(await store.getClaim("no-such-claim-id-0000000000"), undefined);
    await issue([a]);
    await issue([a]); // redelivered: counted once
    assert.deepEqual(await store.counters(c.id), { admitted: 2, issued: 1, held: 0 });
    // An issued claim may have left the store (the ledger holds it); if it is still here, it says issued.
    const issued = await store.getClaim(a.claimId);
    assert.ok(issued === undefined || issued.status === "issued", JSON.stringify(issued));
    const [mine] = await store.userClaims(c.id, "a");
    assert.deepEqual([mine?.claimId, mine?.status], [a.claimId, "issued"]);
    assert.equal((await store.getClaim(b.claimId))?.status, "pending");
  });

  it("changeCampaign: pause and resume, stock never below what is handed out, close for good", async (t) => {
    const { store, create } = await open(t);
    const c = campaign({ stock: 3 });
    await create(c);
    admitted(await store.admit({ campaignId: c.id, userId: "u1" }));
    const paused = changed(await store.changeCampaign(c.id, { status: "paused" }));
    assert.deepEqual([paused.previous.status ?? "open", paused.campaign.status], ["open", "paused"]);
    assert.equal(paused.campaign.revision, (paused.previous.revision ?? 0) + 1);
    assert.equal(paused.admitted, 1);
    assert.ok(Math.abs(paused.appliedAt - Date.now()) < 5000);
    assert.equal(reason(await store.admit({ campaignId: c.id, userId: "u2" })), "paused");
    heldClaim(await store.admit({ campaignId: c.id, userId: "u1" }));
    changed(await store.changeCampaign(c.id, { status: "open" }));
    admitted(await store.admit({ campaignId: c.id, userId: "u2" }));

    const below = await store.changeCampaign(c.id, { stock: 1 });
    assert.deepEqual(
      [below.kind, below.kind === "stock_below_admitted" && below.admitted],
      ["stock_below_admitted", 2],
    );
    assert.equal(changed(await store.changeCampaign(c.id, { stock: 2 })).campaign.stock, 2);
    assert.equal((await store.admit({ campaignId: c.id, userId: "u3" })).kind, "sold_out");
    assert.equal(changed(await store.changeCampaign(c.id, { stock: 3 })).campaign.stock, 3);
    admitted(await store.admit({ campaignId: c.id, userId: "u3" }));

    changed(await store.changeCampaign(c.id, { endsAt: Date.now() - 1000 }));
    assert.equal(reason(await store.admit({ campaignId: c.id, userId: "u4" })), "ended");
    assert.equal(changed(await store.changeCampaign(c.id, { endsAt: null })).campaign.endsAt, null);

    const closed = changed(await store.changeCampaign(c.id, { status: "closed" }));
    assert.ok(
      closed.campaign.endsAt !== null && closed.campaign.endsAt <= Date.now() + 1000,
      "closing ends it",
    );
    assert.equal(reason(await store.admit({ campaignId: c.id, userId: "u5" })), "closed");
    assert.equal((await store.changeCampaign(c.id, { status: "open" })).kind, "closed");
    assert.equal(
      (await store.changeCampaign("never-created", { status: "open" })).kind,
      "campaign_not_found",
    );
  });

  it("rate limits: after an unknown campaign, before 409, never for a repeat of a key already answered", async (t) => {
    const { store, create } = await open(t, { rateLimit: { user: parseRate("2/m", "RATE_LIMIT_USER") } });
    const c = campaign({ stock: 5 });
    await create(c);
    for (let i = 0; i < 5; i++)
      assert.deepEqual(await store.admit({ campaignId: "never-created", userId: "u1", clientIp: "ip" }), {
        kind: "campaign_not_found",
      });
    const request = { campaignId: c.id, userId: "u1", clientIp: "ip" };
    const first = admitted(await store.admit({ ...request, idempotencyKey: "k1" }));
    heldClaim(await store.admit(request));
    const limited = await store.admit(request);
    assert.equal(limited.kind, "rate_limited", JSON.stringify(limited));
    const retryAfter = limited.kind === "rate_limited" ? limited.retryAfterSec : 0;
    assert.ok(retryAfter >= 25 && retryAfter <= 30, `Retry-After ${retryAfter} s`);
    const repeat = await store.admit({ ...request, idempotencyKey: "k1" });
    assert.equal(repeat.kind === "admitted" && repeat.replayed, true, JSON.stringify(repeat));
    assert.equal(admitted(repeat).claimId, first.claimId);
    assert.equal((await store.admit({ ...request, idempotencyKey: "k2" })).kind, "rate_limited", "a new key");
    admitted(await store.admit({ ...request, userId: "u2" }));
    assert.deepEqual(await store.counters(c.id), { admitted: 2, issued: 0, held: 0 });
  });

  it("rate limits: per client address, all buckets or none", async (t) => {
    const rateLimit = { ip: parseRate("3/m", "RATE_LIMIT_IP"), user: parseRate("1/m", "RATE_LIMIT_USER") };
    const { store, create } = await open(t, { rateLimit });
    const c = campaign({ stock: 10 });
    await create(c);
    const from = (userId: string, clientIp: string) => store.admit({ campaignId: c.id, userId, clientIp });
    admitted(await from("a", "10.0.0.1"));
    assert.equal((await from("a", "10.0.0.1")).kind, "rate_limited", "the user's bucket refuses");
    admitted(await from("b", "10.0.0.1"));
    admitted(await from("c", "10.0.0.1"));
    assert.equal((await from("d", "10.0.0.1")).kind, "rate_limited", "the address's fourth");
    admitted(await from("d", "10.0.0.2"));
  });

  it("forgetUser: refused while a claim is pending; then the user is gone and may claim anew", async (t) => {
    const { store, create, issue } = await open(t);
    const c = campaign({ stock: 5 });
    await create(c);
    const claim = admitted(await store.admit({ campaignId: c.id, userId: "alice" }));
    assert.deepEqual(await store.forgetUser(c.id, "alice"), { kind: "pending" });
    await issue([claim]);
    assert.deepEqual(await store.forgetUser(c.id, "alice"), { kind: "forgotten", claims: 1 });
    assert.deepEqual(await store.userClaims(c.id, "alice"), []);
    const again = admitted(await store.admit({ campaignId: c.id, userId: "alice" }));
    assert.equal(again.seq, 1, "a new user now");
    assert.notEqual(again.unit, claim.unit, "the forgotten claim's unit stays taken");
    assert.deepEqual(await store.counters(c.id), { admitted: 2, issued: 1, held: 0 });
    assert.deepEqual(await store.forgetUser(c.id, "nobody"), { kind: "forgotten", claims: 0 });
    assert.deepEqual(await store.forgetUser("never-created", "alice"), { kind: "campaign_not_found" });
  });

  holds(
    "a claim is a pending hold until expiresAt = admittedAt + holdSeconds; held once the ledger holds it",
    async (t) => {
      const { store, create, write } = await open(t);
      const c = campaign({ stock: 2, holdSeconds: 60 });
      await create(c);
      assert.equal((await store.getCampaign(c.id))?.holdSeconds, 60);
      const claim = admitted(await store.admit({ campaignId: c.id, userId: "alice" }));
      assert.equal(claim.status, "pending");
      assert.equal(claim.expiresAt, claim.admittedAt + 60_000);
      assert.deepEqual(
        [(await store.getClaim(claim.claimId))?.status, (await store.getClaim(claim.claimId))?.expiresAt],
        ["pending", claim.expiresAt],
      );
      assert.deepEqual(await store.counters(c.id), { admitted: 1, issued: 0, held: 0 });
      await write([claim]);
      await write([claim]); // redelivered: counted once
      assert.equal((await store.getClaim(claim.claimId))?.status, "held");
      assert.deepEqual(await store.counters(c.id), { admitted: 1, issued: 0, held: 1 });
      const again = heldClaim(await store.admit({ campaignId: c.id, userId: "alice" }));
      assert.equal(again.claimId, claim.claimId);
      assert.deepEqual(
        (await store.userClaims(c.id, "alice")).map((x) => x.status),
        ["held"],
      );
      assert.deepEqual(await store.reapExpired(c.id), { expired: [], nextDueAt: claim.expiresAt });
    },
  );

  holds(
    "confirm before expiresAt: issued with its confirmation time, once; a repeat is replayed; release is refused",
    async (t) => {
      const { store, create, write } = await open(t);
      const c = campaign({ stock: 2, holdSeconds: 60 });
      await create(c);
      const claim = admitted(await store.admit({ campaignId: c.id, userId: "alice" }));
      await write([claim]);
      const confirmed = outcome(await store.confirm(claim.claimId), "confirmed");
      assert.equal(confirmed.replayed, false);
      assert.deepEqual(
        [confirmed.claim.claimId, confirmed.claim.status, confirmed.claim.couponCode],
        [claim.claimId, "issued", claim.couponCode],
      );
      const issuedAt = confirmed.claim.issuedAt ?? 0;
      assert.ok(issuedAt >= claim.admittedAt && issuedAt < claim.expiresAt!, "confirmed before expiresAt");
      assert.equal((await store.getClaim(claim.claimId))?.status, "issued", "issued as soon as confirmed");
      assert.deepEqual(await store.counters(c.id), { admitted: 1, issued: 0, held: 0 });
      const repeat = outcome(await store.confirm(claim.claimId), "confirmed");
      assert.equal(repeat.replayed, true);
      assert.equal(outcome(await store.release(claim.claimId), "already_confirmed").claim.status, "issued");
      await write([confirmed.claim]);
      assert.deepEqual(await store.counters(c.id), { admitted: 1, issued: 1, held: 0 });
      assert.equal(
        outcome(await store.confirm(claim.claimId), "confirmed").replayed,
        true,
        "also from the ledger",
      );
      assert.equal(
        outcome(await store.release(claim.claimId), "already_confirmed").claim.claimId,
        claim.claimId,
      );
      assert.deepEqual(await store.reapExpired(c.id), { expired: [], nextDueAt: null });
    },
  );

  holds(
    "release: the unit is back at once (another user gets it), the user may claim again; confirm then answers hold_expired",
    async (t) => {
      const { store, create, write } = await open(t);
      const c = campaign({ stock: 1, holdSeconds: 60 });
      await create(c);
      const claim = admitted(await store.admit({ campaignId: c.id, userId: "alice" }));
      assert.equal((await store.admit({ campaignId: c.id, userId: "bob" })).kind, "sold_out");
      const released = outcome(await store.release(claim.claimId), "released");
      assert.deepEqual([released.replayed, released.claim.status], [false, "released"]);
      assert.ok(released.claim.endedAt !== undefined && released.claim.endedAt < claim.expiresAt!);
      assert.equal((await store.getClaim(claim.claimId))?.status, "released");
      assert.deepEqual(await store.counters(c.id), { admitted: 0, issued: 0, held: 0 });
      assert.equal(outcome(await store.release(claim.claimId), "released").replayed, true);
      assert.equal(outcome(await store.confirm(claim.claimId), "hold_expired").claim.status, "released");
      const bob = admitted(await store.admit({ campaignId: c.id, userId: "bob" }));
      assert.equal(bob.unit, claim.unit, "the same unit, handed out again");
      assert.equal(
        (await store.admit({ campaignId: c.id, userId: "alice" })).kind,
        "sold_out",
        "not a holder any more",
      );
      assert.equal(outcome(await store.release(bob.claimId), "released").claim.claimId, bob.claimId);
      const alice = admitted(await store.admit({ campaignId: c.id, userId: "alice" }));
      assert.equal(alice.seq, 1, "her slot is hers again");
      await write([claim, released.claim]);
      assert.equal(
        outcome(await store.release(claim.claimId), "released").replayed,
        true,
        "also from the ledger",
      );
      assert.equal(outcome(await store.confirm(claim.claimId), "hold_expired").claim.claimId, claim.claimId);
    },
  );

  holds(
    "expiry: at expiresAt the hold expires, by a reap or by the confirm itself; never both confirmed and expired",
    async (t) => {
      const { store, create, write } = await open(t);
      const c = campaign({ stock: 3, holdSeconds: 1 });
      await create(c);
      const reaped = admitted(await store.admit({ campaignId: c.id, userId: "a" }));
      const late = admitted(await store.admit({ campaignId: c.id, userId: "b" }));
      const lateRelease = admitted(await store.admit({ campaignId: c.id, userId: "c" }));
      await write([reaped]);
      await sleep(Math.max(0, reaped.expiresAt! - Date.now()) + 150);
      const confirmLate = outcome(await store.confirm(late.claimId), "hold_expired");
      assert.equal(confirmLate.claim.status, "expired");
      assert.ok(confirmLate.claim.endedAt! >= late.expiresAt!, "ended at or after expiresAt");
      assert.equal(outcome(await store.release(lateRelease.claimId), "hold_expired").claim.status, "expired");
      const pass = await store.reapExpired(c.id);
      assert.deepEqual(
        pass.expired.map((x) => [x.claimId, x.status]),
        [[reaped.claimId, "expired"]],
      );
      assert.equal(pass.nextDueAt, null);
      assert.deepEqual((await store.reapExpired(c.id)).expired, [], "expired once");
      assert.equal((await store.getClaim(reaped.claimId))?.status, "expired");
      assert.deepEqual(await store.counters(c.id), { admitted: 0, issued: 0, held: 0 });
      assert.equal(
        outcome(await store.confirm(reaped.claimId), "hold_expired").claim.claimId,
        reaped.claimId,
      );
      await write([pass.expired[0]!, confirmLate.claim]);
      assert.equal(outcome(await store.confirm(late.claimId), "hold_expired").claim.status, "expired");
      const again = admitted(await store.admit({ campaignId: c.id, userId: "a" }));
      assert.equal(again.seq, 1, "the user who let it expire claims again");
    },
  );

  holds("a due hold gives its unit back before a 410, with no reaper running", async (t) => {
    const { store, create } = await open(t);
    const c = campaign({ stock: 1, holdSeconds: 1 });
    await create(c);
    const first = admitted(await store.admit({ campaignId: c.id, userId: "a" }));
    assert.equal((await store.admit({ campaignId: c.id, userId: "b" })).kind, "sold_out");
    await sleep(Math.max(0, first.expiresAt! - Date.now()) + 150);
    const next = admitted(await store.admit({ campaignId: c.id, userId: "b" }));
    assert.equal(next.unit, first.unit);
    assert.equal((await store.getClaim(first.claimId))?.status, "expired");
  });

  holds("confirm and release of a claim without holds, or of no claim", async (t) => {
    const { store, create } = await open(t);
    const c = campaign({ stock: 2 });
    await create(c);
    const claim = admitted(await store.admit({ campaignId: c.id, userId: "a" }));
    assert.equal(claim.expiresAt, undefined);
    assert.equal(outcome(await store.confirm(claim.claimId), "not_a_hold").claim.claimId, claim.claimId);
    assert.equal(outcome(await store.release(claim.claimId), "not_a_hold").claim.claimId, claim.claimId);
    assert.deepEqual(await store.confirm("no-such-claim-id-0000000000"), { kind: "claim_not_found" });
    assert.deepEqual(await store.release("no-such-claim-id-0000000000"), { kind: "claim_not_found" });
    assert.deepEqual(await store.reapExpired(c.id), { expired: [], nextDueAt: null });
  });
}
