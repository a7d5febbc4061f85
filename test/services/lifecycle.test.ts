import assert from "node:assert/strict";
import { test } from "node:test";
import { actor, embeddedPorts, rejectsWith } from "../helpers/embedded-ports.ts";

test("a change is applied by admission, recorded in the ledger, and audited with who and what", async (t) => {
  const { services, ledger } = await embeddedPorts(t);
  await services.campaigns.create({ id: "c", name: "C", stock: 5 });
  const paused = await services.lifecycle.update("c", { status: "paused", stock: 8 }, actor);
  assert.equal(paused.campaign.status, "paused");
  assert.equal(paused.counts.remaining, 8);
  const refused = await rejectsWith(
    services.claims.claim({ campaignId: "c", userId: "u", clientIp: "127.0.0.1" }),
    "campaign_not_active",
  );
  assert.deepEqual(refused.fields, { reason: "paused" });

  const recorded = await ledger.getCampaign("c");
  assert.deepEqual([recorded?.status, recorded?.stock, recorded?.revision], ["paused", 8, 1]);
  const [entry, ...rest] = await services.lifecycle.auditLog("c", 0, 100);
  assert.deepEqual(rest, []);
  assert.deepEqual(
    { actor: entry?.actor, requestId: entry?.requestId, clientIp: entry?.clientIp, action: entry?.action },
    { ...actor, action: "update" },
  );
  assert.deepEqual(entry?.details, {
    changes: { status: { from: "open", to: "paused" }, stock: { from: 5, to: 8 } },
    revision: 1,
  });
});

test("close is for good: closing again answers the campaign, any other change is campaign_not_active", async (t) => {
  const { services } = await embeddedPorts(t);
  await services.campaigns.create({ id: "c", name: "C", stock: 5 });
  assert.equal((await services.lifecycle.close("c", actor)).campaign.status, "closed");
  assert.equal((await services.lifecycle.close("c", actor)).campaign.status, "closed");
  const refused = await rejectsWith(
    services.lifecycle.update("c", { status: "open" }, actor),
    "campaign_not_active",
  );
  assert.deepEqual(refused.fields, { reason: "closed" });
  assert.deepEqual(
    (await services.lifecycle.auditLog("c", 0, 100)).map((e) => e.action),
    ["close"],
    "a repeated close and a refused change record nothing",
  );
});

test("refusals: stock below what is admitted, endsAt before startsAt, unknown campaign", async (t) => {
  const { services } = await embeddedPorts(t);
  await services.campaigns.create({ id: "c", name: "C", stock: 5, startsAt: Date.now() - 60_000 });
  for (const userId of ["a", "b", "c"])
    await services.claims.claim({ campaignId: "c", userId, clientIp: "127.0.0.1" });
  const below = await rejectsWith(services.lifecycle.update("c", { stock: 2 }, actor), "invalid_request");
  assert.deepEqual(below.fields, { admitted: 3 });
  await rejectsWith(
    services.lifecycle.update("c", { endsAt: Date.now() - 120_000 }, actor),
    "invalid_request",
  );
  await rejectsWith(services.lifecycle.update("nope", { stock: 9 }, actor), "campaign_not_found");
  await rejectsWith(services.lifecycle.close("nope", actor), "campaign_not_found");
  await rejectsWith(services.lifecycle.auditLog("nope", 0, 10), "campaign_not_found");
});

test("a ledger that cannot record the change answers unavailable; repeating the change records it", async (t) => {
  const { services, ledger } = await embeddedPorts(t);
  await services.campaigns.create({ id: "c", name: "C", stock: 5 });
  const record = ledger.lifecycle.recordCampaignChange.bind(ledger.lifecycle);
  ledger.lifecycle.recordCampaignChange = async () => Promise.reject(new Error("disk full"));
  const error = await rejectsWith(services.lifecycle.update("c", { stock: 7 }, actor), "unavailable");
  assert.equal(error.retryAfter, 1);
  assert.equal((await services.campaigns.get("c")).campaign.stock, 7, "admission applies it already");

  ledger.lifecycle.recordCampaignChange = record;
  await services.lifecycle.update("c", { stock: 7 }, actor);
  assert.equal((await ledger.getCampaign("c"))?.stock, 7);
  assert.equal((await services.lifecycle.auditLog("c", 0, 100)).length, 1);
});
