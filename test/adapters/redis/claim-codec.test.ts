import assert from "node:assert/strict";
import { test } from "node:test";
import {
  ClaimDecodeError,
  packClaim,
  statusLetter,
  unpackClaim,
} from "../../../src/adapters/redis/claim-codec.ts";
import type { Claim } from "../../../src/domain/types.ts";

/** The packed claim's layouts: 1 (a pending claim without holds, as before holds) and 2 (holds). */
const base: Claim = {
  claimId: "tagtagtagta-claim",
  campaignId: "c1",
  userId: "alice",
  seq: 1,
  unit: 7,
  couponCode: "ABCD-EFGH",
  admittedAt: 1_700_000_000_000,
  status: "pending",
  idempotencyKey: undefined,
};

test("a pending claim without holds is layout 1, exactly as before holds", () => {
  const packed = packClaim(base);
  assert.equal(
    packed,
    ["1", base.claimId, "c1", "alice", 1, 7, "ABCD-EFGH", base.admittedAt, ""].join("\u001f"),
  );
  assert.deepEqual(unpackClaim(packed), base);
  const keyed = { ...base, idempotencyKey: "k-1" };
  assert.deepEqual(unpackClaim(packClaim(keyed)), keyed);
});

test("a hold is layout 2 with its status letter and times, each status round trip", () => {
  const hold = { ...base, expiresAt: base.admittedAt + 30_000 };
  const packed = packClaim(hold);
  assert.equal(packed.split("\u001f")[0], "2");
  assert.deepEqual(packed.split("\u001f").slice(9), ["p", String(hold.expiresAt), "", ""]);
  assert.deepEqual(unpackClaim(packed), hold);
  const states: Claim[] = [
    { ...hold, status: "held" },
    { ...hold, status: "issued", issuedAt: hold.admittedAt + 5000 },
    { ...hold, status: "expired", endedAt: hold.expiresAt },
    { ...hold, status: "released", endedAt: hold.admittedAt + 1000, idempotencyKey: "k" },
  ];
  for (const claim of states) assert.deepEqual(unpackClaim(packClaim(claim)), claim);
  assert.deepEqual(
    states.map((c) => statusLetter(c.status)),
    ["h", "c", "x", "r"],
  );
});

test("an unknown layout or status is refused, not guessed", () => {
  const packed = packClaim({ ...base, expiresAt: 1 });
  assert.throws(() => unpackClaim(packed.replace(/^2/, "3")), ClaimDecodeError);
  assert.throws(() => unpackClaim(packed.replace("\u001fp\u001f", "\u001fz\u001f")), ClaimDecodeError);
  assert.throws(() => unpackClaim(`${packClaim(base)}\u001fextra`), ClaimDecodeError, "a field too many");
});
