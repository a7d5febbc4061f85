import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { FastifyInstance } from "fastify";
import type { EmbeddedRuntime } from "../../../src/runtime/embedded.ts";
import { admin, createCampaign, embeddedApp } from "../../helpers/embedded-app.ts";
import { eventually } from "../../helpers/wait.ts";
import { webhookReceiver } from "../../helpers/webhook-receiver.ts";

const SECRET = "whsec-test-0123456789abcdef";
/** The receivers listen on 127.0.0.1: WEBHOOK_ALLOW_PRIVATE=true. */
const FAST = {
  maxAttempts: 8,
  retryBaseMs: 20,
  retryMaxMs: 200,
  timeoutMs: 300,
  concurrency: 8,
  pollMs: 50,
  allowPrivate: true,
};
const json = { "content-type": "application/json" };

async function claimAll(app: FastifyInstance, id: string, users: number, prefix = "user") {
  const answers = await Promise.all(
    Array.from({ length: users }, (_, i) =>
      app.inject({
        method: "POST",
        url: `/v1/campaigns/${id}/claims`,
        headers: json,
        payload: { userId: `${prefix}-${i}` },
      }),
    ),
  );
  return answers.filter((a) => a.statusCode === 202).map((a) => a.json().claimId as string);
}

async function setWebhook(app: FastifyInstance, id: string, body: Record<string, unknown>) {
  const res = await app.inject({
    method: "PUT",
    url: `/v1/campaigns/${id}/webhook`,
    headers: { ...admin, ...json },
    payload: body,
  });
  assert.equal(res.statusCode, 200, res.body);
  return res.json();
}

function deliveryStates(runtime: EmbeddedRuntime, campaignId: string): Record<string, number> {
  const rows = runtime.ledger.database
    .prepare("SELECT state, count(*) AS n FROM deliveries WHERE campaign_id = ? GROUP BY state")
    .all(campaignId) as { state: string; n: number }[];
  return Object.fromEntries(rows.map((r) => [r.state, r.n]));
}

describe("webhook delivery", () => {
  test("a receiver failing the first attempts still gets every issued claim, signed; duplicates share a delivery id", async (t) => {
    // Attempt 1: 500. Attempt 2: every 4th delivery is accepted but answered
    // after the sender's timeout (so it is sent again: a duplicate), every
    // 4th+1 hangs up, the rest answer 503 with Retry-After. Then 204.
    let n = 0;
    const kind = new Map<string, number>();
    const receiver = await webhookReceiver(t, SECRET, (deliveryId, seen) => {
      if (!kind.has(deliveryId)) kind.set(deliveryId, n++ % 4);
      if (seen === 1) return { status: 500 };
      if (seen === 2) {
        const k = kind.get(deliveryId);
        if (k === 0) return { slowOkMs: 600 };
        if (k === 1) return "reset";
        return { status: 503, retryAfter: "0" };
      }
      return "ok";
    });
    const { app, runtime } = await embeddedApp(t, { webhook: FAST });
    await createCampaign(app, { id: "hook", name: "Hook", stock: 200 });
    const state = await setWebhook(app, "hook", { url: receiver.url, secret: SECRET });
    assert.equal(state.secret, undefined, "a given secret is never echoed");
    assert.equal(state.webhook.url, receiver.url);

    const admitted = await claimAll(app, "hook", 300);
    assert.equal(admitted.length, 200);
    await eventually(() => (deliveryStates(runtime, "hook").delivered ?? 0) === 200, 30_000);
    assert.deepEqual(deliveryStates(runtime, "hook"), { delivered: 200 });

    assert.ok(
      receiver.received.every((r) => r.signatureValid),
      "every request carries a valid signature",
    );
    const accepted = receiver.received.filter((r) => r.accepted);
    const claimIds = new Set(accepted.map((r) => r.body.claim.claimId));
    assert.deepEqual([...claimIds].sort(), [...admitted].sort(), "every issued claim was delivered");
    // Duplicates: accepted more than once, always under the same delivery id with the same body.
    const byDelivery = new Map<string, string[]>();
    for (const r of accepted) byDelivery.set(r.deliveryId, [...(byDelivery.get(r.deliveryId) ?? []), r.raw]);
    const duplicated = [...byDelivery.values()].filter((bodies) => bodies.length > 1);
    assert.ok(duplicated.length >= 40, `${duplicated.length} duplicates seen`);
    for (const bodies of duplicated) assert.equal(new Set(bodies).size, 1, "a retry sends the same body");
    assert.equal(byDelivery.size, 200, "one delivery id per claim");
    for (const r of receiver.received) {
      assert.equal(r.body.deliveryId, r.deliveryId);
      // An attempt that timed out before it reached the receiver (a loaded machine) is counted by the
      // sender only: the header counts every attempt, the receiver may have seen fewer, never more.
      assert.ok(r.attempt >= r.seen, `Stampede-Attempt counts the attempts (${r.attempt} < ${r.seen} seen)`);
      assert.match(r.body.claim.couponCode, /^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/);
    }
  });

  test("deliveries that fail every attempt are dead-lettered, listed, and replayed by an admin", async (t) => {
    let healthy = false;
    const receiver = await webhookReceiver(t, SECRET, () => (healthy ? "ok" : { status: 500 }));
    const { app, runtime } = await embeddedApp(t, { webhook: { ...FAST, maxAttempts: 3 } });
    await createCampaign(app, { id: "dl", name: "DL", stock: 30 });
    await setWebhook(app, "dl", { url: receiver.url, secret: SECRET });
    const admitted = await claimAll(app, "dl", 30);
    await eventually(() => (deliveryStates(runtime, "dl").dead ?? 0) === 30, 20_000);
    assert.equal(receiver.received.length, 90, "three attempts each");

    const hook = await app.inject({ method: "GET", url: "/v1/campaigns/dl/webhook", headers: admin });
    assert.deepEqual([hook.json().deadDeliveries, hook.json().secret], [30, undefined]);
    const page1 = await app.inject({
      method: "GET",
      url: "/v1/campaigns/dl/deliveries/dead?limit=20",
      headers: admin,
    });
    assert.equal(page1.statusCode, 200);
    const first = page1.json() as {
      deliveries: { deliveryId: string; claimId: string; attempts: number; lastError: string }[];
      next: string;
    };
    assert.equal(first.deliveries.length, 20);
    assert.deepEqual([first.deliveries[0]!.attempts, first.deliveries[0]!.lastError], [3, "HTTP 500"]);
    const page2 = await app.inject({
      method: "GET",
      url: `/v1/campaigns/dl/deliveries/dead?after=${first.next}`,
      headers: admin,
    });
    const listed = [...first.deliveries, ...page2.json().deliveries].map(
      (d: { claimId: string }) => d.claimId,
    );
    assert.deepEqual(listed.sort(), [...admitted].sort());
    assert.equal(page2.json().next, null);

    healthy = true;
    // One by id, then the rest.
    const one = await app.inject({
      method: "POST",
      url: "/v1/campaigns/dl/deliveries/dead/replay",
      headers: { ...admin, ...json, "x-actor": "support" },
      payload: { deliveryIds: [first.deliveries[0]!.deliveryId, "iss_unknownunknownunknown"] },
    });
    assert.deepEqual(one.json(), { replayed: 1 });
    const rest = await app.inject({
      method: "POST",
      url: "/v1/campaigns/dl/deliveries/dead/replay",
      headers: admin,
    });
    assert.deepEqual(rest.json(), { replayed: 29 });
    await eventually(() => (deliveryStates(runtime, "dl").delivered ?? 0) === 30, 10_000);
    const delivered = new Set(receiver.received.filter((r) => r.accepted).map((r) => r.deliveryId));
    assert.equal(delivered.size, 30);

    const audit = await app.inject({ method: "GET", url: "/v1/campaigns/dl/audit", headers: admin });
    assert.deepEqual(
      audit
        .json()
        .entries.map((e: { action: string; actor: string; details: { replayed?: number } }) => [
          e.action,
          e.actor,
          e.details.replayed,
        ]),
      [
        ["webhook_set", "admin", undefined],
        ["deliveries_replayed", "support", 1],
        ["deliveries_replayed", "admin", 29],
      ],
    );
  });

  test("claims issued before the webhook: none by default, all with backfill; a generated secret is shown once", async (t) => {
    const receiver = await webhookReceiver(t, SECRET, () => "ok");
    const { app, runtime } = await embeddedApp(t, { webhook: FAST });
    await createCampaign(app, { id: "bf", name: "BF", stock: 20 });
    const early = await claimAll(app, "bf", 10, "early");
    await eventually(async () => (await runtime.ledger.issuedCount("bf")) === 10);

    const generated = await setWebhook(app, "bf", { url: receiver.url });
    assert.match(generated.secret, /^[A-Za-z0-9_-]{32}$/);
    const late = await claimAll(app, "bf", 5, "late");
    await eventually(() => (deliveryStates(runtime, "bf").delivered ?? 0) === 5);
    assert.equal(deliveryStates(runtime, "bf").pending, undefined, "earlier claims got no delivery");

    const backfilled = await setWebhook(app, "bf", { url: receiver.url, secret: SECRET, backfill: true });
    assert.deepEqual([backfilled.backfilled, backfilled.secret], [10, undefined]);
    await eventually(() => (deliveryStates(runtime, "bf").delivered ?? 0) === 15);
    const ids = new Set(receiver.received.map((r) => r.body.claim.claimId));
    assert.deepEqual([...ids].sort(), [...early, ...late].sort());
    // Signed with whichever secret was current when sent.
    const bySecret = receiver.received.filter((r) => r.signatureValid).map((r) => r.body.claim.claimId);
    assert.deepEqual(bySecret.sort(), [...early].sort());
  });

  test("a removed webhook parks pending deliveries until it is set again; bad URLs are refused", async (t) => {
    let up = false;
    const receiver = await webhookReceiver(t, SECRET, () => (up ? "ok" : { status: 500 }));
    const { app, runtime } = await embeddedApp(t, { webhook: { ...FAST, retryBaseMs: 100 } });
    await createCampaign(app, { id: "pk", name: "PK", stock: 5 });
    await setWebhook(app, "pk", { url: receiver.url, secret: SECRET });
    await claimAll(app, "pk", 5);
    await eventually(() => receiver.received.length >= 5);
    const removed = await app.inject({ method: "DELETE", url: "/v1/campaigns/pk/webhook", headers: admin });
    assert.equal(removed.json().webhook, null);
    await sleep(300);
    const sent = receiver.received.length;
    await sleep(500);
    assert.equal(receiver.received.length, sent, "nothing is sent while no webhook is set");
    assert.equal(deliveryStates(runtime, "pk").pending, 5);

    up = true;
    await setWebhook(app, "pk", { url: receiver.url, secret: SECRET });
    await eventually(() => (deliveryStates(runtime, "pk").delivered ?? 0) === 5);

    for (const url of ["ftp://example.com/x", "not a url", ""]) {
      const res = await app.inject({
        method: "PUT",
        url: "/v1/campaigns/pk/webhook",
        headers: { ...admin, ...json },
        payload: { url },
      });
      assert.equal(res.statusCode, 400, url);
    }
    const short = await app.inject({
      method: "PUT",
      url: "/v1/campaigns/pk/webhook",
      headers: { ...admin, ...json },
      payload: { url: receiver.url, secret: "short" },
    });
    assert.equal(short.statusCode, 400);
    const unknown = await app.inject({ method: "GET", url: "/v1/campaigns/nope/webhook", headers: admin });
    assert.equal(unknown.json().error, "campaign_not_found");
  });
});
