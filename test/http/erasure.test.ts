import assert from "node:assert/strict";
import { test } from "node:test";
import { userHasher, userHashKey } from "../../src/domain/user-hash.ts";
import { ADMIN_TOKEN, admin, createCampaign, embeddedApp } from "../helpers/embedded-app.ts";
import { eventually } from "../helpers/wait.ts";

const json = { "content-type": "application/json" };
const USER = "alice@example.com";

test("erasure anonymises the user's rows: units stay consumed, the userId is gone everywhere, the user is forgotten", async (t) => {
  const first = await embeddedApp(t);
  const { app, runtime } = first;
  await createCampaign(app, { id: "gdpr", name: "GDPR", stock: 3, perUserLimit: 2 });
  const claim = (userId: string, key?: string) =>
    app.inject({
      method: "POST",
      url: "/v1/campaigns/gdpr/claims",
      headers: key ? { ...json, "idempotency-key": key } : json,
      payload: { userId },
    });
  const a1 = (await claim(USER, "k1")).json();
  const a2 = (await claim(USER)).json();
  assert.equal((await claim("bob")).statusCode, 202);
  await eventually(async () => (await runtime.ledger.issuedCount("gdpr")) === 3);

  const erase = await app.inject({
    method: "DELETE",
    url: `/v1/campaigns/gdpr/users/${encodeURIComponent(USER)}/claims`,
    headers: { ...admin, "x-actor": "dpo" },
  });
  assert.equal(erase.statusCode, 200, erase.body);
  assert.deepEqual(erase.json(), { erased: 2 });

  // The ledger holds no row of the user; the rows remain, held by tombstones.
  const db = runtime.ledger.database;
  assert.equal(
    (db.prepare("SELECT count(*) AS n FROM claims WHERE user_id = ?").get(USER) as { n: number }).n,
    0,
  );
  const rows = db
    .prepare("SELECT user_id, idempotency_key FROM claims WHERE claim_id IN (?, ?)")
    .all(a1.claimId, a2.claimId) as {
    user_id: string;
    idempotency_key: string | null;
  }[];
  assert.deepEqual(
    rows.map((r) => [r.user_id.startsWith("erased:"), r.idempotency_key]),
    [
      [true, null],
      [true, null],
    ],
  );
  // The API no longer knows the user, and shows no userId for the claims.
  const listed = await app.inject({
    method: "GET",
    url: `/v1/campaigns/gdpr/users/${encodeURIComponent(USER)}/claims`,
    headers: admin,
  });
  assert.deepEqual(listed.json(), { claims: [] });
  const byId = (await app.inject({ method: "GET", url: `/v1/claims/${a1.claimId}` })).json();
  assert.notEqual(byId.userId, USER);
  const exported = await app.inject({ method: "GET", url: "/v1/campaigns/gdpr/export", headers: admin });
  assert.equal(exported.body.includes(USER), false);
  assert.equal(exported.body.trim().split("\n").length, 3, "the rows are still exported, anonymised");

  // The units stay consumed: nothing remains; the user is forgotten, so a new claim is a new user's.
  const campaign = (await app.inject({ method: "GET", url: "/v1/campaigns/gdpr" })).json();
  assert.deepEqual([campaign.issued, campaign.remaining], [3, 0]);
  const again = await claim(USER, "k1");
  assert.equal(again.statusCode, 410, "the Idempotency-Key answer went with the user; sold out now");

  // The audit trail records who erased whom, by hash only.
  const audit = (await app.inject({ method: "GET", url: "/v1/campaigns/gdpr/audit", headers: admin })).json();
  const entry = audit.entries.at(-1);
  assert.deepEqual([entry.action, entry.actor, entry.details.claims], ["erase_user", "dpo", 2]);
  assert.equal(entry.details.user, userHasher(userHashKey(ADMIN_TOKEN))(USER));
  assert.equal(JSON.stringify(audit).includes(USER), false);

  // Erasing again is harmless; a restart does not bring the user back.
  const twice = await app.inject({
    method: "DELETE",
    url: `/v1/campaigns/gdpr/users/${encodeURIComponent(USER)}/claims`,
    headers: admin,
  });
  assert.deepEqual(twice.json(), { erased: 0 });
  await app.close();
  await runtime.close();
  const second = await embeddedApp(t, { dataDir: first.dataDir });
  const after = await second.app.inject({
    method: "GET",
    url: `/v1/campaigns/gdpr/users/${encodeURIComponent(USER)}/claims`,
    headers: admin,
  });
  assert.deepEqual(after.json(), { claims: [] });
  const reread = (await second.app.inject({ method: "GET", url: "/v1/campaigns/gdpr" })).json();
  assert.deepEqual([reread.issued, reread.remaining], [3, 0]);
});

test("erasure waits for a claim still being issued, and 404s for an unknown campaign", async (t) => {
  const { app, runtime } = await embeddedApp(t, { flushIntervalMs: 300 });
  await createCampaign(app, { id: "w", name: "W", stock: 5 });
  const res = await app.inject({
    method: "POST",
    url: "/v1/campaigns/w/claims",
    headers: json,
    payload: { userId: "carol" },
  });
  assert.equal(res.statusCode, 202);
  // The worker waits 300 ms to fill its batch: the claim is pending when erasure starts.
  const erase = await app.inject({
    method: "DELETE",
    url: "/v1/campaigns/w/users/carol/claims",
    headers: admin,
  });
  assert.deepEqual(erase.json(), { erased: 1 });
  const rows = runtime.ledger.database
    .prepare("SELECT user_id FROM claims WHERE campaign_id = 'w'")
    .all() as {
    user_id: string;
  }[];
  assert.deepEqual(
    rows.map((r) => r.user_id),
    [`erased:${res.json().claimId}`],
  );
  const unknown = await app.inject({
    method: "DELETE",
    url: "/v1/campaigns/nope/users/x/claims",
    headers: admin,
  });
  assert.equal(unknown.json().error, "campaign_not_found");
});
