import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { campaignTag } from "../../src/adapters/redis/keys.ts";
import { ADMIN_TOKEN, claimOn, type Reply, request, startCluster } from "../helpers/distributed.ts";
import { skipWithoutServices, sql } from "../helpers/services.ts";
import { steadyClaims } from "../helpers/steady-claims.ts";
import { eventually } from "../helpers/wait.ts";
import { webhookReceiver } from "../helpers/webhook-receiver.ts";

/**
 * Delivery and retention in distributed mode, as processes (`stampede api`,
 * `stampede worker`) on the shared Redis and PostgreSQL: the webhook outbox
 * delivered by the worker to a failing receiver, export and erasure from
 * PostgreSQL, and Redis keys expiring after the retention grace. (Lifecycle
 * changes mid-spike: distributed-lifecycle.e2e.test.ts.)
 */
const skip = await skipWithoutServices();
const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

test("the worker delivers the webhook outbox to a failing receiver; export and erasure read PostgreSQL", {
  skip,
  timeout: 180_000,
}, async (t) => {
  const secret = "whsec-distributed-0123456789";
  const receiver = await webhookReceiver(t, secret, (_, seen) => (seen <= 2 ? { status: 503 } : "ok"));
  const cluster = await startCluster(t, {
    apis: 1,
    workers: 1,
    env: {
      WEBHOOK_RETRY_BASE_MS: "50",
      WEBHOOK_RETRY_MAX_MS: "400",
      WEBHOOK_TIMEOUT_MS: "2000",
      // The receiver listens on 127.0.0.1.
      WEBHOOK_ALLOW_PRIVATE: "true",
    },
  });
  const api = cluster.apis[0]!.url;
  await cluster.createCampaign({ id: "hook", name: "Hook", stock: 150 });
  const set = await request(api, "PUT", "/v1/campaigns/hook/webhook", { url: receiver.url, secret }, auth);
  assert.equal(set.status, 200, JSON.stringify(set.body));
  const answers = await steadyClaims<Reply>(claimOn(cluster, "hook"), { users: 200, lanes: 50 });
  const admitted = answers.filter((a) => a.reply.status === 202).map((a) => String(a.reply.body.claimId));
  assert.equal(admitted.length, 150);

  await eventually(
    async () => new Set(receiver.received.filter((r) => r.accepted).map((r) => r.deliveryId)).size === 150,
    60_000,
    "150 deliveries accepted",
  );
  assert.ok(receiver.received.every((r) => r.signatureValid));
  const delivered = new Set(receiver.received.filter((r) => r.accepted).map((r) => r.body.claim.claimId));
  assert.deepEqual([...delivered].sort(), [...admitted].sort());
  await eventually(
    async () =>
      (
        await sql<{ n: number }>(
          `SELECT count(*)::int AS n FROM "${cluster.schema}".deliveries WHERE state = 'delivered'`,
        )
      )[0]!.n === 150,
    30_000,
    "deliveries marked delivered",
  );

  // Export: every ledger row, streamed from PostgreSQL.
  const exported = await request(api, "GET", "/v1/campaigns/hook/export?format=csv", undefined, auth);
  const lines = String(exported.body.raw).trimEnd().split("\r\n");
  assert.equal(
    lines[0],
    "claimId,campaignId,userId,couponCode,unit,seq,admittedAt,issuedAt,status,expiresAt,endedAt",
  );
  assert.equal(lines.length, 151);

  // Erasure: the user's row is anonymised in PostgreSQL, the user forgotten by Redis.
  const victim = answers.find((a) => a.reply.status === 202)!;
  const erase = await request(api, "DELETE", `/v1/campaigns/hook/users/${victim.userId}/claims`, undefined, {
    ...auth,
    "x-actor": "dpo",
  });
  assert.deepEqual([erase.status, erase.body.erased], [200, 1]);
  const rows = await cluster.rows("hook");
  assert.equal(rows.filter((r) => r.user_id === victim.userId).length, 0);
  assert.equal(
    rows.find((r) => r.claim_id === victim.reply.body.claimId)?.user_id,
    `erased:${victim.reply.body.claimId}`,
  );
  const mine = await request(api, "GET", `/v1/campaigns/hook/users/${victim.userId}/claims`, undefined, auth);
  assert.deepEqual(mine.body, { claims: [] });
  const audit = (await request(api, "GET", "/v1/campaigns/hook/audit", undefined, auth)).body as {
    entries: { action: string; actor: string }[];
  };
  assert.deepEqual(
    audit.entries.map((e) => [e.action, e.actor]),
    [
      ["webhook_set", "admin"],
      ["erase_user", "dpo"],
    ],
  );
});

test("a campaign's Redis keys expire after it ends plus the grace; it is answered from the ledger after", {
  skip,
  timeout: 120_000,
}, async (t) => {
  const cluster = await startCluster(t, {
    apis: 1,
    workers: 1,
    env: { REDIS_RETENTION_GRACE_S: "2", RETENTION_CHECK_MS: "200" },
  });
  const api = cluster.apis[0]!.url;
  await cluster.createCampaign({
    id: "short",
    name: "Short",
    stock: 10,
    endsAt: new Date(Date.now() + 4000).toISOString(),
  });
  await cluster.createCampaign({ id: "forever", name: "Forever", stock: 10 });
  const holder = await request(api, "POST", "/v1/campaigns/short/claims", { userId: "early" });
  assert.equal(holder.status, 202);
  assert.equal((await request(api, "POST", "/v1/campaigns/forever/claims", { userId: "early" })).status, 202);
  const { Redis } = await import("ioredis");
  const redis = new Redis(cluster.env.REDIS_URL!);
  t.after(() => {
    redis.disconnect();
  });
  const keysOf = async (id: string) =>
    (await redis.keys(`${cluster.prefix}:{${campaignTag(id)}}:c:${id}*`)).filter(
      (k) => !k.includes(":idem:"),
    );
  assert.ok((await keysOf("short")).length >= 2, "state and holders exist while it runs");

  // Ended at +4 s, grace 2 s: the keys are gone by about +6 s (plus a sweep).
  await eventually(async () => (await keysOf("short")).length === 0, 30_000, "the campaign's keys expired");
  await eventually(
    async () => (await redis.sismember(`${cluster.prefix}:campaigns`, "short")) === 0,
    10_000,
    "the stream left the registry",
  );
  assert.ok((await keysOf("forever")).length >= 2, "a campaign without an end keeps its keys");

  // Answered from the ledger now, and never rebuilt into Redis.
  const read = await request(api, "GET", "/v1/campaigns/short");
  assert.deepEqual([read.status, read.body.issued, read.body.pending], [200, 1, 0]);
  const again = await request(api, "POST", "/v1/campaigns/short/claims", { userId: "early" });
  assert.deepEqual([again.status, again.body.claimId], [409, holder.body.claimId]);
  const late = await request(api, "POST", "/v1/campaigns/short/claims", { userId: "late" });
  assert.deepEqual([late.status, late.body.reason], [403, "ended"]);
  const change = await request(api, "PATCH", "/v1/campaigns/short", { status: "paused" }, auth);
  assert.deepEqual([change.status, change.body.error], [403, "campaign_not_active"]);
  await sleep(1500);
  assert.deepEqual(await keysOf("short"), [], "no process brought the keys back (loss monitor, reads)");
  assert.equal((await cluster.rows("short")).length, 1, "the ledger keeps everything");
});
