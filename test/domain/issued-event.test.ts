import assert from "node:assert/strict";
import { test } from "node:test";
import {
  claimEvent,
  claimIdOfDelivery,
  deliveryIdOf,
  parseClaimEvent,
  parseDeliveryId,
} from "../../src/domain/issued-event.ts";
import type { Claim } from "../../src/domain/types.ts";

const claim: Claim = {
  claimId: "AbC-123_xyz",
  campaignId: "c",
  userId: "alice",
  seq: 1,
  unit: 4,
  couponCode: "ABCD-EFGH",
  admittedAt: Date.UTC(2030, 0, 1),
  status: "issued",
  issuedAt: Date.UTC(2030, 0, 1, 0, 0, 1),
};

test("claim.issued of a claim without holds is the body receivers have always had", () => {
  assert.deepEqual(claimEvent(claim), {
    ver: 1,
    deliveryId: "iss_AbC-123_xyz",
    event: "claim.issued",
    claim: {
      claimId: "AbC-123_xyz",
      campaignId: "c",
      userId: "alice",
      couponCode: "ABCD-EFGH",
      admittedAt: "2030-01-01T00:00:00.000Z",
      issuedAt: "2030-01-01T00:00:01.000Z",
    },
  });
});

test("a hold's final state is one event with a delivery id of its own; held and pending have none", () => {
  const hold = { ...claim, expiresAt: Date.UTC(2030, 0, 1, 0, 1) };
  const issued = claimEvent(hold);
  assert.equal(issued.deliveryId, "iss_AbC-123_xyz", "the same id as a claim without holds");
  assert.equal(issued.claim.expiresAt, "2030-01-01T00:01:00.000Z");
  const { issuedAt: _, ...unissued } = hold;
  for (const status of ["expired", "released"] as const) {
    const event = claimEvent({ ...unissued, status, endedAt: Date.UTC(2030, 0, 1, 0, 0, 30) });
    assert.deepEqual(event, {
      ver: 1,
      deliveryId: `iss_AbC-123_xyz.${status}`,
      event: `claim.${status}`,
      claim: {
        claimId: "AbC-123_xyz",
        campaignId: "c",
        userId: "alice",
        admittedAt: "2030-01-01T00:00:00.000Z",
        expiresAt: "2030-01-01T00:01:00.000Z",
        endedAt: "2030-01-01T00:00:30.000Z",
      },
    });
    assert.deepEqual(parseClaimEvent(JSON.parse(JSON.stringify(event))), event);
    assert.deepEqual(parseDeliveryId(event.deliveryId), { claimId: claim.claimId, event: event.event });
  }
  for (const status of ["pending", "held"] as const)
    assert.throws(() => claimEvent({ ...unissued, status }), /no event until it is final/);
});

test("delivery ids name a claim and an event, and nothing else", () => {
  assert.equal(deliveryIdOf("x"), "iss_x");
  assert.equal(deliveryIdOf("x", "claim.released"), "iss_x.released");
  assert.deepEqual(parseDeliveryId("iss_x"), { claimId: "x", event: "claim.issued" });
  assert.deepEqual(parseDeliveryId("iss_x.expired"), { claimId: "x", event: "claim.expired" });
  for (const bad of ["x", "iss_", "iss_x.issued", "iss_x.", "iss_.expired", "iss_x.expired.again"])
    assert.equal(parseDeliveryId(bad), undefined, bad);
  assert.equal(claimIdOfDelivery("iss_x.released"), "x");
});

test("parseClaimEvent refuses what is not a v1 event", () => {
  const event = claimEvent(claim);
  assert.throws(() => parseClaimEvent({ ...event, ver: 2 }), /unknown version/);
  assert.throws(() => parseClaimEvent({ ...event, event: "claim.held" }), /unknown event/);
  const { couponCode: _, ...noCode } = event.claim as unknown as Record<string, unknown>;
  assert.throws(() => parseClaimEvent({ ...event, claim: noCode }), /claim.couponCode missing/);
  assert.throws(
    () => parseClaimEvent({ ...event, event: "claim.expired" }),
    /claim.endedAt missing/,
    "an ended event carries endedAt",
  );
});
