import assert from "node:assert/strict";
import { test } from "node:test";
import { campaignTag } from "../../src/adapters/redis/keys.ts";
import { ADMIN_TOKEN, type Reply, request, startCluster, waitFor } from "../helpers/distributed.ts";
import { skipWithoutServices, sql } from "../helpers/services.ts";
import { steadyClaims } from "../helpers/steady-claims.ts";
import { webhookReceiver } from "../helpers/webhook-receiver.ts";

/**
 * Lifecycle and delivery in distributed mode, as processes (`stampede api` x2,
 * `stampede worker`) on the shared Redis and PostgreSQL: pause / resume and a
 * stock raise mid-spike across two API processes, the webhook outbox
 * delivered by the worker to a failing receiver, export and erasure from
 * PostgreSQL, and Redis keys expiring after the retention grace.
 */
const skip = await skipWithoutServices();
const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

type Cluster = Awaited<ReturnType<typeof startCluster>>;

function flow(cluster: Cluster, campaignId: string) {
  return (userId: string, index: number) =>
    request(cluster.apis[index % cluster.apis.length]!.url, "POST", `/v1/campaigns/${campaignId}/claims`, {
      userId,
    });
}

async function quiet(cluster: Cluster, id: string) {
  await waitFor(
    async () => (await request(cluster.apis[0]!.url, "GET", `/v1/campaigns/${id}`)).body.pending === 0,
    60_000,
    "pending 0",
  );
  return (await request(cluster.apis[0]!.url, "GET", `/v1/campaigns/${id}`)).body;
}

test("pause and resume mid-spike over 2 API processes: no 202 while paused, none lost", {
  skip,
  timeout: 180_000,
}, async (t) => {
  const cluster = await startCluster(t, { apis: 2, workers: 1 });
  await cluster.createCampaign({ id: "pr", name: "Pause", stock: 100_000 });
  const api = cluster.apis[0]!.url;
  const times = { pauseSent: 0, pauseAcked: 0, resumeSent: 0, resumeAcked: 0 };
  let finished = false;
  const admin = (async () => {
    await new Promise((r) => setTimeout(r, 500));
    times.pauseSent = performance.now();
    const paused = await request(api, "PATCH", "/v1/campaigns/pr", { status: "paused" }, auth);
    times.pauseAcked = performance.now();
    assert.equal(paused.status, 200, JSON.stringify(paused.body));
    await new Promise((r) => setTimeout(r, 800));
    times.resumeSent = performance.now();
    const resumed = await request(
      cluster.apis[1]!.url,
      "PATCH",
      "/v1/campaigns/pr",
      { status: "open" },
      auth,
    );
    times.resumeAcked = performance.now();
    assert.equal(resumed.status, 200);
    await new Promise((r) => setTimeout(r, 500));
    finished = true;
  })();
  const answers = await steadyClaims<Reply>(flow(cluster, "pr"), {
    users: 100_000,
    lanes: 100,
    done: () => finished,
  });
  await admin;

  const statuses: Record<string, number> = {};
  for (const a of answers) {
    const key = a.reply.status === 403 ? `403 ${a.reply.body.reason}` : String(a.reply.status);
    statuses[key] = (statuses[key] ?? 0) + 1;
  }
  t.diagnostic(`answers ${JSON.stringify(statuses)}`);
  const unknown = answers.filter((a) => a.reply.status === 503 || a.reply.status === 0);
  assert.ok(unknown.length <= answers.length / 100, `${unknown.length} answers without a decision`);
  assert.ok(
    answers.every((a) => [202, 503, 0].includes(a.reply.status) || a.reply.body.reason === "paused"),
    "only 202s and paused 403s (and the odd 503)",
  );
  const during = answers.filter((a) => a.sentAt > times.pauseAcked && a.answeredAt < times.resumeSent);
  assert.ok(during.length > 50, `${during.length} claims sent and answered while paused`);
  assert.ok(
    during.every((a) => a.reply.status !== 202),
    "no 202 while paused, from either API process",
  );
  assert.ok(
    answers.some((a) => a.sentAt > times.resumeAcked && a.reply.status === 202),
    "admitting again after",
  );

  // Redis TIME decides admittedAt and the audit's "at": no admission between the two changes.
  const audit = (await request(api, "GET", "/v1/campaigns/pr/audit", undefined, auth)).body as {
    entries: { at: string }[];
  };
  const [pauseAt, resumeAt] = audit.entries.map((e) => Date.parse(e.at));
  const admitted = answers.filter((a) => a.reply.status === 202);
  assert.equal(
    admitted.filter((a) => {
      const at = Date.parse(String(a.reply.body.admittedAt));
      return at > pauseAt! && at < resumeAt!;
    }).length,
    0,
  );

  // None lost: every 202 is in the ledger; anything else there was a 503 whose outcome was unknown.
  await quiet(cluster, "pr");
  const rows = await cluster.rows("pr");
  const ids = new Set(rows.map((r) => r.claim_id));
  for (const a of admitted) assert.ok(ids.has(String(a.reply.body.claimId)), `202 of ${a.userId} not issued`);
  assert.ok(rows.length - admitted.length <= unknown.length);
});

test("raising stock mid-spike over 2 API processes: exactly the new stock issued", {
  skip,
  timeout: 180_000,
}, async (t) => {
  const cluster = await startCluster(t, { apis: 2, workers: 1 });
  await cluster.createCampaign({ id: "raise", name: "Raise", stock: 300 });
  // A raise takes effect once API processes' sold-out caches have expired
  // (about a second): the flow goes on until 1,000 claims were sent after
  // the PATCH returned, twice the 500 new units.
  let raised: Promise<Reply> | undefined;
  let raisedAt = 0;
  let appliedAt = Number.POSITIVE_INFINITY;
  let sentAfter = 0;
  const answers = await steadyClaims<Reply>(flow(cluster, "raise"), {
    users: 100_000,
    lanes: 100,
    done: () => sentAfter >= 1000,
    onAnswer: (a) => {
      if (a.sentAt > appliedAt) sentAfter++;
      if (a.reply.status === 410 && !raised) {
        raisedAt = performance.now();
        raised = request(cluster.apis[0]!.url, "PATCH", "/v1/campaigns/raise", { stock: 800 }, auth);
        void raised.then(() => {
          appliedAt = performance.now();
        });
      }
    },
  });
  assert.ok(raised, "sold out before the raise");
  assert.equal((await raised!).status, 200);
  const count = (s: number) => answers.filter((a) => a.reply.status === s).length;
  t.diagnostic(
    `202: ${count(202)}, 410: ${count(410)}, 503: ${count(503)}; ${answers.filter((a) => a.sentAt > raisedAt).length} sent after the raise`,
  );
  assert.ok(answers.filter((a) => a.sentAt > appliedAt).length >= 1000, "the flow went on after the raise");
  assert.equal(count(202), 800, "exactly the new stock admitted");

  assert.equal(count(503), 0);
  await quiet(cluster, "raise");
  const rows = await cluster.rows("raise");
  assert.equal(rows.length, 800);
  assert.equal(new Set(rows.map((r) => r.unit)).size, 800);
  assert.ok(rows.every((r) => r.unit >= 1 && r.unit <= 800));
  const lower = await request(cluster.apis[1]!.url, "PATCH", "/v1/campaigns/raise", { stock: 799 }, auth);
  assert.deepEqual([lower.status, lower.body.admitted], [400, 800]);
});

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
  const answers = await steadyClaims<Reply>(flow(cluster, "hook"), { users: 200, lanes: 50 });
  const admitted = answers.filter((a) => a.reply.status === 202).map((a) => String(a.reply.body.claimId));
  assert.equal(admitted.length, 150);

  await waitFor(
    async () => new Set(receiver.received.filter((r) => r.accepted).map((r) => r.deliveryId)).size === 150,
    60_000,
    "150 deliveries accepted",
  );
  assert.ok(receiver.received.every((r) => r.signatureValid));
  const delivered = new Set(receiver.received.filter((r) => r.accepted).map((r) => r.body.claim.claimId));
  assert.deepEqual([...delivered].sort(), [...admitted].sort());
  await waitFor(
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
  assert.equal(lines[0], "claimId,campaignId,userId,couponCode,unit,seq,admittedAt,issuedAt");
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
  await waitFor(async () => (await keysOf("short")).length === 0, 30_000, "the campaign's keys expired");
  await waitFor(
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
  await new Promise((r) => setTimeout(r, 1500));
  assert.deepEqual(await keysOf("short"), [], "no process brought the keys back (loss monitor, reads)");
  assert.equal((await cluster.rows("short")).length, 1, "the ledger keeps everything");
});
