import assert from "node:assert/strict";
import { test } from "node:test";
import { actor, embeddedPorts, rejectsWith } from "../helpers/embedded-ports.ts";
import { eventually } from "../helpers/wait.ts";

test("webhook: a generated secret is shown once, never read back; every change is audited", async (t) => {
  const { services } = await embeddedPorts(t, { now: () => 5_000, webhookAllowPrivate: true });
  await services.campaigns.create({ id: "c", name: "C", stock: 5 });
  const set = await services.deliveries.setWebhook("c", { url: "https://shop.example/hook" }, actor);
  assert.match(set.secret ?? "", /^[A-Za-z0-9_-]{32}$/);
  assert.deepEqual(set.webhook, { url: "https://shop.example/hook", updatedAt: 5_000 });
  assert.equal(set.backfilled, undefined, "no backfill asked");

  const read = await services.deliveries.webhook("c");
  assert.deepEqual(read, {
    webhook: { url: "https://shop.example/hook", updatedAt: 5_000 },
    deadDeliveries: 0,
  });
  const given = await services.deliveries.setWebhook(
    "c",
    { url: "https://shop.example/other", secret: "a-secret-of-sixteen-or-more", backfill: true },
    actor,
  );
  assert.equal(given.secret, undefined, "a secret the caller chose is not echoed");
  assert.equal(given.backfilled, 0);
  assert.deepEqual(await services.deliveries.removeWebhook("c", actor), { webhook: null, deadDeliveries: 0 });
  assert.deepEqual(
    (await services.lifecycle.auditLog("c", 0, 10)).map((e) => [e.action, e.details]),
    [
      ["webhook_set", { url: "https://shop.example/hook", secretGenerated: true, backfill: false }],
      [
        "webhook_set",
        { url: "https://shop.example/other", secretGenerated: false, backfill: true, backfilled: 0 },
      ],
      ["webhook_removed", {}],
    ],
  );
});

test("webhook refusals: not a URL, not http(s), unknown campaign, replay without a webhook", async (t) => {
  const { services } = await embeddedPorts(t, { webhookAllowPrivate: true });
  await services.campaigns.create({ id: "c", name: "C", stock: 5 });
  await rejectsWith(services.deliveries.setWebhook("c", { url: "not a url" }, actor), "invalid_request");
  await rejectsWith(
    services.deliveries.setWebhook("c", { url: "ftp://shop.example/" }, actor),
    "invalid_request",
  );
  await rejectsWith(
    services.deliveries.setWebhook("nope", { url: "https://x.example/" }, actor),
    "campaign_not_found",
  );
  await rejectsWith(services.deliveries.webhook("nope"), "campaign_not_found");
  await rejectsWith(services.deliveries.deadDeliveries("nope", "", 10), "campaign_not_found");
  await rejectsWith(services.deliveries.replayDead("c", undefined, actor), "invalid_request");
});

test("dead deliveries are listed and replayed, with the audit entry", async (t) => {
  const { services, worker, ledger } = await embeddedPorts(t, { webhookAllowPrivate: true });
  await services.campaigns.create({ id: "c", name: "C", stock: 5 });
  await services.deliveries.setWebhook("c", { url: "https://shop.example/hook" }, actor);
  const claim = await services.claims.claim({ campaignId: "c", userId: "u", clientIp: "127.0.0.1" });
  worker.start();
  await eventually(async () => (await ledger.issuedCount("c")) === 1);
  // What the dispatcher does once every attempt failed.
  const [due] = await ledger.deliveries.claimDue(Date.now(), 10, Date.now() + 60_000);
  assert.equal(due?.claim.claimId, claim.claimId);
  await ledger.deliveries.markFailed([{ claimId: claim.claimId, error: "HTTP 500", nextAttemptAt: null }]);

  const dead = await services.deliveries.deadDeliveries("c", "", 10);
  assert.deepEqual(
    dead.map((d) => [d.claimId, d.lastError]),
    [[claim.claimId, "HTTP 500"]],
  );
  assert.equal((await services.deliveries.webhook("c")).deadDeliveries, 1);
  assert.equal(await services.deliveries.replayDead("c", undefined, actor), 1);
  assert.deepEqual(await services.deliveries.deadDeliveries("c", "", 10), []);
  const last = (await services.lifecycle.auditLog("c", 0, 10)).at(-1);
  assert.deepEqual([last?.action, last?.details], ["deliveries_replayed", { all: true, replayed: 1 }]);
});
