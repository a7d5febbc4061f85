import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { type Answer, createClient } from "../helpers/load.ts";
import { startServer } from "../helpers/server-process.ts";
import { tempDir } from "../helpers/tmp.ts";

const ADMIN = "crash-admin-token-0123456789";

test("SIGKILL while claims are in flight: after restart every 202 is issued, no coupon twice", async (t) => {
  const dataDir = tempDir(t);
  const env = { DATA_DIR: dataDir, ADMIN_TOKEN: ADMIN, FSYNC: "always" };
  const first = await startServer("start", env);
  t.after(() => first.stop("SIGKILL"));
  const client = createClient(first.url);
  const stock = 3000;
  const created = await client.request({
    method: "POST",
    path: "/v1/campaigns",
    headers: { authorization: `Bearer ${ADMIN}` },
    body: { id: "crash", name: "Crash", stock },
  });
  assert.equal(created.status, 201);

  // Fire claims at concurrency 200 and pull the plug once a few hundred were admitted.
  const answers: Answer[] = [];
  let admitted = 0;
  let killed = false;
  const issuedBefore = new Map<string, string>();
  const lanes = Array.from({ length: 200 }, async (_, lane) => {
    for (let i = lane; i < 6000 && !killed; i += 200) {
      const answer = await client.request({
        method: "POST",
        path: "/v1/campaigns/crash/claims",
        body: { userId: `user-${i}` },
      });
      answers.push(answer);
      if (answer.status === 202 && ++admitted === 600) {
        // Remember a coupon issued before the crash: it must not change.
        const early = answers.find((a) => a.status === 202)!;
        const claim = await client.request({ method: "GET", path: `/v1/claims/${early.body.claimId}` });
        if (claim.body.status === "issued")
          issuedBefore.set(String(claim.body.claimId), String(claim.body.couponCode));
        killed = true;
        first.child.kill("SIGKILL");
      }
    }
  });
  await Promise.all(lanes);
  client.close();
  const accepted = answers.filter((a) => a.status === 202);
  t.diagnostic(`${accepted.length} admitted, ${answers.filter((a) => a.error).length} cut off by the kill`);
  assert.ok(accepted.length >= 600);

  // Restart on the same data: the journal is replayed, the worker catches up.
  const second = await startServer("start", env);
  t.after(() => second.stop("SIGKILL"));
  const after = createClient(second.url);
  t.after(() => after.close());
  const deadline = Date.now() + 30_000;
  let campaign: Record<string, number> = {};
  do {
    campaign = (await after.request({ method: "GET", path: "/v1/campaigns/crash" })).body as Record<
      string,
      number
    >;
    if (campaign.pending === 0) break;
    await sleep(50);
  } while (Date.now() < deadline);
  assert.equal(campaign.pending, 0, "pending reaches 0 after restart");

  // Invariant 3: every 202 ends issued; codes fixed at admission.
  for (const a of accepted) {
    const claim = (await after.request({ method: "GET", path: `/v1/claims/${a.body.claimId}` })).body;
    assert.equal(claim.status, "issued", `claim ${a.body.claimId}`);
    const before = issuedBefore.get(String(a.body.claimId));
    if (before) assert.equal(claim.couponCode, before, "the coupon code never changes");
  }
  // Holders are still known: a retry names the claim.
  const holder = accepted[0]!;
  const retry = await after.request({
    method: "POST",
    path: "/v1/campaigns/crash/claims",
    body: { userId: holder.body.userId },
  });
  assert.equal(retry.status, 409);
  assert.equal(retry.body.claimId, holder.body.claimId);
  // Claims admitted just before the kill whose answer was lost are issued too,
  // so the ledger may hold more than the 202s counted, never fewer, never over stock.
  assert.ok(campaign.issued! >= accepted.length && campaign.issued! <= stock);
  assert.equal(campaign.remaining, stock - campaign.issued!);
  await second.stop("SIGTERM");

  // The ledger itself: one row per claim, no coupon code or unit twice.
  const db = new DatabaseSync(join(dataDir, "ledger.sqlite"), { readOnly: true });
  const row = db
    .prepare(
      "SELECT count(*) AS n, count(DISTINCT coupon_code) AS codes, count(DISTINCT unit) AS units, count(DISTINCT user_id) AS users FROM claims",
    )
    .get() as Record<string, number>;
  db.close();
  assert.deepEqual(
    { ...row },
    { n: campaign.issued, codes: campaign.issued, units: campaign.issued, users: campaign.issued },
  );
});
