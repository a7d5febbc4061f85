import assert from "node:assert/strict";
import { test } from "node:test";
import { planRebuild } from "../../../../src/adapters/redis/admission/rebuild-plan.ts";
import type { Claim } from "../../../../src/domain/types.ts";

/** What a rebuild writes after a Redis loss, from the ledger and the queued snapshots (no services). */
let n = 0;
function hold(overrides: Partial<Claim> = {}): Claim {
  n++;
  return {
    claimId: `h${n}`,
    campaignId: "c1",
    userId: `u${n}`,
    seq: 1,
    unit: n,
    couponCode: `C${n}`,
    admittedAt: 1000 + n,
    status: "pending",
    expiresAt: 61_000 + n,
    ...overrides,
  };
}
const byId = (claims: Claim[]) => Object.fromEntries(claims.map((c) => [c.claimId, c.status]));

test("held in the ledger: held (back in the expiries), confirmed, or ended, by the newest queued snapshot", () => {
  n = 0;
  const held = hold({ status: "held" });
  const confirmed = hold({ status: "held" });
  const expired = hold({ status: "held" });
  const issued = hold({ status: "issued", issuedAt: 5000 });
  const plan = planRebuild({
    stock: 10,
    queued: [
      { ...confirmed, status: "pending" },
      { ...confirmed, status: "issued", issuedAt: 4000 },
      { ...expired, status: "expired", endedAt: expired.expiresAt },
      { ...expired, status: "pending" }, // an older snapshot redelivered later: the final one wins
    ],
    live: [held, confirmed, expired, issued],
    ended: [],
  });
  assert.deepEqual(byId(plan.claims), {
    [held.claimId]: "held",
    [confirmed.claimId]: "issued",
    [expired.claimId]: "expired",
  });
  assert.equal(plan.claims.find((c) => c.claimId === confirmed.claimId)?.issuedAt, 4000);
  assert.deepEqual(plan.expiries, [[held.expiresAt, held.claimId]]);
  assert.deepEqual(
    [plan.admitted, plan.issued, plan.held, plan.ended],
    [3, 1, 1, 1],
    "the expired hold's unit is free; the confirmed one counts as pending until the ledger has it",
  );
  assert.deepEqual(plan.free, [expired.unit]);
  assert.equal(plan.next, issued.unit);
  assert.deepEqual(
    plan.holders.map(([user]) => user).sort(),
    [held.userId, confirmed.userId, issued.userId].sort(),
  );
});

test("only queued: pending or confirmed claims hold their unit; ended ones stay readable unless the ledger has the end", () => {
  n = 0;
  const pending = hold();
  const confirmed = hold();
  const endedNotInLedger = hold();
  const endedInLedger = hold();
  const plan = planRebuild({
    stock: 10,
    queued: [
      pending,
      confirmed,
      { ...confirmed, status: "issued", issuedAt: 3000 },
      endedNotInLedger,
      { ...endedNotInLedger, status: "released", endedAt: 2000 },
      { ...endedInLedger, status: "expired", endedAt: 2500 },
    ],
    live: [],
    ended: [{ ...endedInLedger, status: "expired", endedAt: 2500, idempotencyKey: "k" }],
  });
  assert.deepEqual(byId(plan.claims), {
    [pending.claimId]: "pending",
    [confirmed.claimId]: "issued",
    [endedNotInLedger.claimId]: "released",
  });
  assert.deepEqual(plan.expiries, [[pending.expiresAt, pending.claimId]]);
  assert.deepEqual([plan.admitted, plan.issued, plan.held, plan.ended, plan.pending], [2, 0, 0, 1, 2]);
  assert.equal(plan.next, endedInLedger.unit, "every unit the ledger saw, ended holds' too");
  assert.deepEqual(plan.free, [endedNotInLedger.unit, endedInLedger.unit]);
  assert.deepEqual(
    plan.idempotency.map((c) => c.claimId),
    [endedInLedger.claimId],
    "a repeat of an ended hold's key finds it again",
  );
});

test("a queued claim whose unit or slot a live claim holds is refused, as the ledger would", () => {
  n = 0;
  const live = hold({ status: "issued", issuedAt: 1 });
  const sameUnit = hold({ unit: live.unit });
  const sameSlot = hold({ userId: live.userId });
  const beyond = hold({ unit: 99 });
  const plan = planRebuild({ stock: 10, queued: [sameUnit, sameSlot, beyond], live: [live], ended: [] });
  assert.deepEqual([plan.refused, plan.admitted], [3, 1]);
});

test("a reused unit: the expired hold frees it, the claim that took it again holds it", () => {
  n = 0;
  const old = hold({ status: "held" });
  const again = hold({ unit: old.unit });
  const plan = planRebuild({
    stock: 10,
    queued: [{ ...old, status: "expired", endedAt: 9 }, again],
    live: [old],
    ended: [],
  });
  assert.deepEqual(byId(plan.claims), { [old.claimId]: "expired", [again.claimId]: "pending" });
  assert.deepEqual([plan.refused, plan.admitted, plan.free.length], [0, 1, 0]);
});
