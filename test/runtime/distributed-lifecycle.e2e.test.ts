import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { ADMIN_TOKEN, claimOn, type Reply, request, startCluster } from "../helpers/distributed.ts";
import { skipWithoutServices } from "../helpers/services.ts";
import { steadyClaims } from "../helpers/steady-claims.ts";
import { eventually } from "../helpers/wait.ts";

/**
 * Lifecycle in distributed mode, as processes (`stampede api` x2, `stampede
 * worker`) on the shared Redis and PostgreSQL: pause / resume and a stock
 * raise mid-spike across two API processes. (Delivery, export, erasure and
 * retention: distributed-lifecycle.services.test.ts.)
 */
const skip = await skipWithoutServices();
const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

type Cluster = Awaited<ReturnType<typeof startCluster>>;

async function quiet(cluster: Cluster, id: string) {
  await eventually(
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
    await sleep(500);
    times.pauseSent = performance.now();
    const paused = await request(api, "PATCH", "/v1/campaigns/pr", { status: "paused" }, auth);
    times.pauseAcked = performance.now();
    assert.equal(paused.status, 200, JSON.stringify(paused.body));
    await sleep(800);
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
    await sleep(500);
    finished = true;
  })();
  const answers = await steadyClaims<Reply>(claimOn(cluster, "pr"), {
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
  const answers = await steadyClaims<Reply>(claimOn(cluster, "raise"), {
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
