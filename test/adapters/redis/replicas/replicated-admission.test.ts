import assert from "node:assert/strict";
import { test } from "node:test";
import { RedisKeys } from "../../../../src/adapters/redis/keys.ts";
import {
  NotReplicatedError,
  type ReplicaWait,
} from "../../../../src/adapters/redis/replicas/replica-wait.ts";
import { ReplicatedAdmission } from "../../../../src/adapters/redis/replicas/replicated-admission.ts";
import { StampedeError } from "../../../../src/domain/errors.ts";
import type { Claim } from "../../../../src/domain/types.ts";
import type {
  AdmissionStore,
  AdmitOutcome,
  HoldOutcome,
  ReapResult,
} from "../../../../src/ports/admission.ts";

/**
 * REDIS_WAIT_REPLICAS in front of any admission store: which answers wait
 * for replicas (WAIT on the campaign's master) and which do not, for claims
 * and for holds. The store and the WAIT are stand-ins; the real WAIT on a
 * Redis Cluster is in cluster.e2e.test.ts.
 */
const keys = new RedisKeys("p");
const state = keys.campaign("c1").state;

function claim(overrides: Partial<Claim> = {}): Claim {
  return {
    claimId: "k1",
    campaignId: "c1",
    userId: "u1",
    unit: 1,
    couponCode: "CODE",
    seq: 1,
    admittedAt: 1,
    status: "pending",
    ...overrides,
  };
}

function world(answers: {
  admit?: AdmitOutcome;
  hold?: HoldOutcome;
  reap?: ReapResult;
  replicated?: boolean;
}) {
  const waited: string[] = [];
  const wait = {
    after: async (key: string) => {
      waited.push(key);
      if (answers.replicated === false) throw new NotReplicatedError("0 of 1 replica(s) acknowledged", false);
    },
  } as unknown as ReplicaWait;
  const inner = {
    admit: async () => answers.admit,
    known: () => answers.admit,
    confirm: async () => answers.hold,
    release: async () => answers.hold,
    reapExpired: async () => answers.reap,
  } as unknown as AdmissionStore;
  return { store: new ReplicatedAdmission({ inner, keys, wait }), waited };
}

const request = { campaignId: "c1", userId: "u1" };

test("a 202, and a 409 naming a pending claim or a hold (even confirmed), wait on the campaign's master", async () => {
  const cases: AdmitOutcome[] = [
    { kind: "admitted", claim: claim(), replayed: false },
    { kind: "already_claimed", claim: claim(), replayed: false },
    { kind: "already_claimed", claim: claim({ status: "held", expiresAt: 5 }), replayed: false },
    // A hold confirmed in Redis may not be in the ledger yet.
    { kind: "already_claimed", claim: claim({ status: "issued", expiresAt: 5 }), replayed: false },
  ];
  for (const admit of cases) {
    const { store, waited } = world({ admit });
    assert.equal(await store.admit(request), admit);
    assert.deepEqual(waited, [state], JSON.stringify(admit));
    assert.equal(store.known(request), undefined, "an answer that must wait is not given from memory");
  }
});

test("no wait for an issued claim without a hold, nor for answers that name no claim", async () => {
  const cases: AdmitOutcome[] = [
    { kind: "already_claimed", claim: claim({ status: "issued" }), replayed: false },
    { kind: "sold_out", replayed: false },
    { kind: "not_active", reason: "paused", replayed: false },
    { kind: "campaign_not_found" },
    { kind: "rate_limited", retryAfterSec: 1 },
  ];
  for (const admit of cases) {
    const { store, waited } = world({ admit });
    assert.equal(await store.admit(request), admit);
    assert.equal(store.known(request), admit, "from memory as the inner store answers it");
    assert.deepEqual(waited, [], JSON.stringify(admit));
  }
});

test("a confirm or release 200, 409 already confirmed and 410 hold expired wait; 503 when replicas do not confirm", async () => {
  const held = claim({ status: "issued", expiresAt: 5 });
  const waiting: HoldOutcome[] = [
    { kind: "confirmed", claim: held, replayed: false },
    { kind: "released", claim: { ...held, status: "released" }, replayed: true },
    { kind: "already_confirmed", claim: held },
    { kind: "hold_expired", claim: { ...held, status: "expired" } },
  ];
  for (const hold of waiting) {
    for (const action of ["confirm", "release"] as const) {
      const { store, waited } = world({ hold });
      assert.equal(await store[action]("k1"), hold);
      assert.deepEqual(waited, [state], `${action}: ${hold.kind}`);
      const late = world({ hold, replicated: false }).store;
      await assert.rejects(
        late[action]("k1"),
        (error) => error instanceof StampedeError && error.code === "unavailable" && error.retryAfter === 1,
      );
    }
  }
  for (const hold of [{ kind: "claim_not_found" }, { kind: "not_a_hold", claim: claim() }] as HoldOutcome[]) {
    const { store, waited } = world({ hold, replicated: false });
    assert.equal(await store.confirm("k1"), hold);
    assert.deepEqual(waited, []);
  }
});

test("reapExpired hands on only expiries replicas hold (the rest reach the ledger through the sink)", async () => {
  const reap: ReapResult = { expired: [claim({ status: "expired", expiresAt: 5 })], nextDueAt: 9 };
  const replicated = world({ reap });
  assert.deepEqual(await replicated.store.reapExpired("c1"), reap);
  assert.deepEqual(replicated.waited, [state]);
  const late = world({ reap, replicated: false });
  assert.deepEqual(await late.store.reapExpired("c1"), { expired: [], nextDueAt: 9 });
  const none = world({ reap: { expired: [], nextDueAt: null } });
  assert.deepEqual(await none.store.reapExpired("c1"), { expired: [], nextDueAt: null });
  assert.deepEqual(none.waited, [], "nothing expired: no WAIT");
});
