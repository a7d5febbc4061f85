/** Webhook bodies of holds: one event per final state, each under its own delivery id. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { pino } from "pino";
import { SqliteLedger } from "../../../src/adapters/sqlite/sqlite-ledger.ts";
import type { Claim } from "../../../src/domain/types.ts";
import { WebhookDispatcher } from "../../../src/workers/webhook/dispatcher.ts";
import { tempDir } from "../../helpers/tmp.ts";
import { eventually } from "../../helpers/wait.ts";
import { webhookReceiver } from "../../helpers/webhook-receiver.ts";

const SECRET = "whsec-test-0123456789abcdef";

test("claim.issued, claim.expired and claim.released reach the shop signed, once each; a held claim sends nothing", async (t) => {
  const receiver = await webhookReceiver(t, SECRET, () => "ok");
  const ledger = new SqliteLedger(tempDir(t));
  await ledger.migrate();
  t.after(() => ledger.close());
  const now = Date.now();
  await ledger.createCampaign({
    id: "h",
    name: "H",
    stock: 5,
    perUserLimit: 1,
    startsAt: null,
    endsAt: null,
    createdAt: now,
    holdSeconds: 60,
  });
  const actor = { actor: "t", requestId: "r", clientIp: "::1" };
  await ledger.deliveries.setWebhook(
    "h",
    { url: receiver.url, secret: SECRET, updatedAt: now },
    { ...actor, campaignId: "h", at: now, action: "webhook_set", details: {} },
    false,
  );
  const hold = (userId: string, unit: number): Claim => ({
    claimId: `claim-${userId}`,
    campaignId: "h",
    userId,
    seq: 1,
    unit,
    couponCode: `CODE-${userId}`,
    admittedAt: now,
    status: "pending",
    expiresAt: now + 60_000,
  });
  const [a, b, c, d] = [hold("a", 1), hold("b", 2), hold("c", 3), hold("d", 4)];
  await ledger.write([a!, b!, c!, d!], now);
  await ledger.write(
    [
      { ...a!, status: "issued", issuedAt: now + 1 },
      { ...b!, status: "expired", endedAt: now + 60_000 },
      { ...c!, status: "released", endedAt: now + 2 },
    ],
    now + 3,
  );
  const dispatcher = new WebhookDispatcher({
    maxAttempts: 3,
    retryBaseMs: 20,
    retryMaxMs: 100,
    timeoutMs: 1000,
    concurrency: 2,
    pollMs: 50,
    // The receiver listens on 127.0.0.1.
    allowPrivate: true,
    store: ledger.deliveries,
    logger: pino({ level: "silent" }),
  });
  dispatcher.start();
  t.after(() => dispatcher.stop());
  await eventually(async () => receiver.received.length >= 3, 10_000);
  await new Promise((r) => setTimeout(r, 200)); // nothing more arrives (d is held)
  const got = receiver.received
    .map((r) => ({ ...(JSON.parse(r.raw) as { event: string; claim: Record<string, string> }), r }))
    .sort((x, y) => x.claim.claimId!.localeCompare(y.claim.claimId!));
  assert.deepEqual(
    got.map((e) => [e.r.deliveryId, e.event, e.claim.couponCode, e.r.signatureValid]),
    [
      ["iss_claim-a", "claim.issued", "CODE-a", true],
      ["iss_claim-b.expired", "claim.expired", undefined, true],
      ["iss_claim-c.released", "claim.released", undefined, true],
    ],
  );
  assert.equal(got[1]!.claim.endedAt, new Date(now + 60_000).toISOString());
});
