import assert from "node:assert/strict";
import { test } from "node:test";
import { SqliteLedger } from "../../../src/adapters/sqlite/sqlite-ledger.ts";
import { ThreadedIssuer } from "../../../src/adapters/sqlite/threaded-issuer.ts";
import { newClaimId, newCouponCode } from "../../../src/domain/ids.ts";
import type { Campaign, Claim } from "../../../src/domain/types.ts";
import { tempDir } from "../../helpers/tmp.ts";

/** The embedded worker's writer thread against the same file the main thread reads and writes. */
const campaign = (id: string, stock: number): Campaign => ({
  id,
  name: id,
  stock,
  perUserLimit: 1,
  startsAt: null,
  endsAt: null,
  createdAt: Date.now(),
});

const claims = (campaignId: string, from: number, count: number): Claim[] =>
  Array.from({ length: count }, (_, i) => ({
    claimId: newClaimId(),
    campaignId,
    userId: `user-${from + i}`,
    seq: 1,
    unit: from + i,
    couponCode: newCouponCode(),
    admittedAt: Date.now(),
    status: "pending" as const,
  }));

async function open(t: import("node:test").TestContext) {
  const dir = tempDir(t);
  const ledger = new SqliteLedger(dir);
  await ledger.migrate();
  const issuer = new ThreadedIssuer(dir);
  t.after(async () => {
    await issuer.close();
    await ledger.close();
  });
  return { ledger, issuer };
}

test("the writer thread writes into the file the main connection reads; redelivery and collisions as inline", async (t) => {
  const { ledger, issuer } = await open(t);
  await ledger.createCampaign(campaign("c1", 10_000));
  const batch = claims("c1", 1, 500);
  const first = await issuer.write(batch, 1234);
  assert.equal(first.written.length, 500);
  assert.equal(first.conflicts.length, 0);
  assert.equal(await ledger.issuedCount("c1"), 500);
  const one = await ledger.findClaim(batch[7]!.claimId);
  assert.equal(one?.status, "issued");
  assert.equal(one?.issuedAt, 1234);
  assert.equal(one?.couponCode, batch[7]!.couponCode);

  // A redelivered batch: reported issued with the ledger's first issuedAt, nothing written twice.
  const again = await issuer.write(batch.slice(0, 10), 9999);
  assert.deepEqual(
    again.written.map((c) => c.issuedAt),
    Array(10).fill(1234),
  );
  // Another claim on a unit that is taken: refused.
  const thief = { ...claims("c1", 3, 1)[0]!, userId: "someone-else" };
  const refused = await issuer.write([thief], 1);
  assert.deepEqual(
    refused.conflicts.map((c) => c.snapshot.claimId),
    [thief.claimId],
  );
  assert.equal(await ledger.issuedCount("c1"), 500);
});

test("writes from the main connection while the thread commits wait for each other instead of failing", async (t) => {
  const { ledger, issuer } = await open(t);
  await ledger.createCampaign(campaign("busy", 1_000_000));
  const writes: Promise<unknown>[] = [];
  for (let i = 0; i < 20; i++) {
    writes.push(issuer.write(claims("busy", 1 + i * 1000, 1000), Date.now()));
    // The main connection writes between the thread's transactions (and during them).
    assert.equal(await ledger.createCampaign(campaign(`other-${i}`, 5)), true);
  }
  await Promise.all(writes);
  assert.equal(await ledger.issuedCount("busy"), 20_000);
  assert.equal((await ledger.listCampaigns()).length, 21);
});

test("a failed batch rejects (the queue redelivers it) and the thread goes on; closed, it refuses", async (t) => {
  const { ledger, issuer } = await open(t);
  await ledger.createCampaign(campaign("ok", 100));
  // No such campaign: the foreign key refuses the whole transaction.
  await assert.rejects(issuer.write(claims("missing", 1, 3), 1), /FOREIGN KEY/);
  assert.equal((await issuer.write(claims("ok", 1, 3), 1)).written.length, 3);
  await issuer.close();
  await assert.rejects(issuer.write(claims("ok", 4, 1), 1), /closed/);
  assert.equal(await ledger.issuedCount("ok"), 3);
});
