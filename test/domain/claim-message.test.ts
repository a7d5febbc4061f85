import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { pino } from "pino";
import {
  CLAIM_MESSAGE_VERSION,
  decodeClaimMessage,
  encodeClaimMessage,
  MalformedMessageError,
  UnsupportedMessageVersionError,
} from "../../src/domain/claim-message.ts";
import { openEmbedded } from "../../src/runtime/embedded.ts";
import { createCampaign, embeddedApp, embeddedConfig } from "../helpers/embedded-app.ts";
import { eventually } from "../helpers/wait.ts";

const v0 = {
  claimId: "v0-claim-000000000000",
  campaignId: "mixed",
  userId: "old-writer",
  seq: 1,
  unit: 1,
  couponCode: "AAAA-BBBB-CCCC-DDDD",
  admittedAt: 1_900_000_000_000,
  status: "pending",
  idempotencyKey: "k-0",
};
const v1 = {
  ver: 1,
  claimId: "v1-claim-111111111111",
  campaignId: "mixed",
  userId: "new-writer",
  seq: 1,
  unit: 2,
  couponCode: "EEEE-FFFF-GGGG-HHHH",
  admittedAt: 1_900_000_000_001,
};

test("v1 is written; v0 (no ver) and v1 are read; a newer version is refused, not guessed", () => {
  assert.equal(CLAIM_MESSAGE_VERSION, 1);
  const claim = decodeClaimMessage(v0);
  assert.deepEqual(claim, { ...v0, status: "pending" });
  const encoded = encodeClaimMessage(claim);
  assert.equal(encoded.ver, 1);
  assert.equal("status" in encoded, false);
  assert.deepEqual(decodeClaimMessage(JSON.parse(JSON.stringify(encoded))), claim, "round trip");
  const { ver: _, ...fields } = v1;
  assert.deepEqual(decodeClaimMessage(v1), { ...fields, status: "pending", idempotencyKey: undefined });

  assert.throws(() => decodeClaimMessage({ ...v1, ver: 2 }), UnsupportedMessageVersionError);
  assert.throws(() => decodeClaimMessage({ ...v1, ver: "1" }), MalformedMessageError);
  assert.throws(() => decodeClaimMessage({ ...v1, unit: "2" }), MalformedMessageError);
  assert.throws(() => decodeClaimMessage(null), MalformedMessageError);
});

test("an old reader reads a v1 message by field name: nothing it uses is missing", () => {
  // What the first releases' worker and restore read from a queued claim.
  const oldReaderFields = [
    "claimId",
    "campaignId",
    "userId",
    "seq",
    "unit",
    "couponCode",
    "admittedAt",
    "idempotencyKey",
  ];
  const message = encodeClaimMessage({ ...decodeClaimMessage(v0) });
  for (const field of oldReaderFields) assert.ok(field in message, field);
  assert.notEqual((message as { status?: string }).status, "issued", "an absent status reads as pending");
});

test("holds: every decision is a v1 snapshot; a pending one is written as before, with its expiry", () => {
  const pending = { ...decodeClaimMessage(v1), expiresAt: v1.admittedAt + 60_000 };
  const written = encodeClaimMessage(pending);
  assert.equal("status" in written, false, "pending: no status, as every v1 writer wrote");
  assert.equal(written.expiresAt, pending.expiresAt);
  assert.deepEqual(decodeClaimMessage(JSON.parse(JSON.stringify(written))), pending);
  // "held" is the ledger's word for a pending hold: on a queue it is pending.
  assert.equal("status" in encodeClaimMessage({ ...pending, status: "held" }), false);

  const confirmed = { ...pending, status: "issued" as const, issuedAt: v1.admittedAt + 5000 };
  const expired = { ...pending, status: "expired" as const, endedAt: pending.expiresAt };
  const released = { ...pending, status: "released" as const, endedAt: v1.admittedAt + 7000 };
  for (const snapshot of [confirmed, expired, released]) {
    const message = encodeClaimMessage(snapshot);
    assert.equal(message.ver, 1, "an additive change keeps the version");
    assert.equal(message.status, snapshot.status);
    assert.deepEqual(decodeClaimMessage(JSON.parse(JSON.stringify(message))), snapshot, snapshot.status);
  }
  assert.equal(encodeClaimMessage(expired).issuedAt, undefined);

  assert.throws(() => decodeClaimMessage({ ...v1, status: "held" }), MalformedMessageError);
  assert.throws(() => decodeClaimMessage({ ...v1, status: "cancelled" }), MalformedMessageError);
  assert.throws(() => decodeClaimMessage({ ...v1, expiresAt: "soon" }), MalformedMessageError);
  assert.throws(() => decodeClaimMessage({ ...v1, status: "issued", issuedAt: 1.5 }), MalformedMessageError);
});

test("holds: what a reader before holds reads of a hold's snapshots (why workers upgrade first)", () => {
  // The reader of the release before holds: v0/v1 fields by name, status ignored.
  const oldReader = (raw: Record<string, unknown>) => ({
    claimId: raw.claimId,
    unit: raw.unit,
    couponCode: raw.couponCode,
    status: "pending",
  });
  const pending = { ...decodeClaimMessage(v1), expiresAt: v1.admittedAt + 60_000 };
  const ended = encodeClaimMessage({ ...pending, status: "released", endedAt: v1.admittedAt + 1 });
  const read = oldReader(JSON.parse(JSON.stringify(ended)));
  assert.deepEqual(read, {
    claimId: v1.claimId,
    unit: v1.unit,
    couponCode: v1.couponCode,
    status: "pending",
  });
  // And the new reader reads a message of the old writer exactly as before: pending, no hold fields.
  const fromOld = decodeClaimMessage(v1);
  assert.equal(fromOld.status, "pending");
  for (const field of ["expiresAt", "issuedAt", "endedAt"]) assert.equal(field in fromOld, false, field);
});

test("one worker issues a journal holding a v0 and a v1 claim (a rolling upgrade's leftovers)", async (t) => {
  // First run: create the campaign, so the ledger knows it; then stop.
  const first = await embeddedApp(t);
  await createCampaign(first.app, { id: "mixed", name: "Mixed", stock: 10 });
  await first.app.close();
  await first.runtime.close();

  // An old process and a new one both appended to the journal before a crash.
  const segment = join(first.dataDir, "journal", "segment-0000000100.jsonl");
  writeFileSync(segment, `${JSON.stringify({ v: v0 })}\n${JSON.stringify({ v: v1 })}\n`);

  const second = await embeddedApp(t, { dataDir: first.dataDir });
  assert.equal(second.runtime.recoveredPending, 2);
  await eventually(async () => (await second.runtime.ledger.issuedCount("mixed")) === 2);
  for (const m of [v0, v1]) {
    const claim = await second.runtime.ledger.findClaim(m.claimId);
    assert.deepEqual([claim?.userId, claim?.unit, claim?.couponCode], [m.userId, m.unit, m.couponCode]);
  }
  const campaign = (await second.app.inject({ method: "GET", url: "/v1/campaigns/mixed" })).json();
  assert.deepEqual([campaign.issued, campaign.pending, campaign.remaining], [2, 0, 8]);
  // The v0 claim's Idempotency-Key still answers.
  const repeat = await second.app.inject({
    method: "POST",
    url: "/v1/campaigns/mixed/claims",
    headers: { "content-type": "application/json", "idempotency-key": "k-0" },
    payload: { userId: "old-writer" },
  });
  assert.equal(repeat.json().claimId, v0.claimId);
  // New admissions are written as v1.
  const res = await second.app.inject({
    method: "POST",
    url: "/v1/campaigns/mixed/claims",
    headers: { "content-type": "application/json" },
    payload: { userId: "fresh" },
  });
  assert.equal(res.statusCode, 202);
});

test("a journal written by a newer version is refused at start, not dropped", async (t) => {
  const first = await embeddedApp(t);
  await first.app.close();
  await first.runtime.close();
  writeFileSync(
    join(first.dataDir, "journal", "segment-0000000100.jsonl"),
    `${JSON.stringify({ v: { ...v1, ver: 2 } })}\n`,
  );
  await assert.rejects(
    openEmbedded(embeddedConfig({ DATA_DIR: first.dataDir }), pino({ level: "silent" })),
    /claim message version 2 is newer than this stampede understands/,
  );
});
