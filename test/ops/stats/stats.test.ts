import assert from "node:assert/strict";
import { test } from "node:test";
import { admin, createCampaign, embeddedApp } from "../../helpers/embedded-app.ts";
import { eventually } from "../../helpers/wait.ts";

test("GET /v1/admin/stats needs the admin token", async (t) => {
  const { app } = await embeddedApp(t);
  const none = await app.inject({ method: "GET", url: "/v1/admin/stats" });
  assert.equal(none.statusCode, 401);
  assert.equal(none.json().error, "unauthorized");
  const wrong = await app.inject({
    method: "GET",
    url: "/v1/admin/stats",
    headers: { authorization: "Bearer not-the-token-at-all" },
  });
  assert.equal(wrong.statusCode, 401);
});

test("stats: per-campaign counters, queue lag and ledger counts", async (t) => {
  const { app } = await embeddedApp(t);
  await createCampaign(app, { id: "s1", name: "One", stock: 10 });
  await createCampaign(app, { id: "s2", name: "Two", stock: 3 });
  for (let i = 0; i < 4; i++)
    await app.inject({ method: "POST", url: "/v1/campaigns/s1/claims", payload: { userId: `u${i}` } });
  await eventually(
    async () => (await app.inject({ method: "GET", url: "/v1/campaigns/s1" })).json().issued === 4,
  );

  const res = await app.inject({ method: "GET", url: "/v1/admin/stats", headers: admin });
  assert.equal(res.statusCode, 200);
  const body = res.json();
  assert.equal(body.mode, "embedded");
  assert.ok(!Number.isNaN(Date.parse(body.serverTime)));
  const byId = Object.fromEntries(body.campaigns.map((c: { id: string }) => [c.id, c]));
  assert.deepEqual(byId.s1, {
    id: "s1",
    name: "One",
    stock: 10,
    issued: 4,
    pending: 0,
    held: 0,
    remaining: 6,
  });
  assert.deepEqual(byId.s2, {
    id: "s2",
    name: "Two",
    stock: 3,
    issued: 0,
    pending: 0,
    held: 0,
    remaining: 3,
  });
  assert.deepEqual(body.queue, {
    lag: [
      { source: "claims", lag: 0 },
      { source: "tasks", lag: 0 },
      { source: "tickets", lag: 0 },
    ],
    total: 0,
  });
  assert.equal(body.ledger.campaigns, 2);
  assert.equal(body.ledger.issuedClaims, 4);
  assert.deepEqual(body.ledger.issuedByCampaign, { s1: 4, s2: 0 });
  assert.ok(body.journal.fsyncs >= 0);
  assert.equal(body.redis, undefined, "no Redis in embedded mode");
});

test("a section that fails or hangs is reported as an error, the others still answer", async (t) => {
  const { app } = await embeddedApp(t, {
    ops: {
      stats: [
        { name: "broken", collect: async () => Promise.reject(new Error("connection refused")) },
        { name: "fine", collect: async () => ({ answer: 42 }) },
      ],
    },
  });
  const res = await app.inject({ method: "GET", url: "/v1/admin/stats", headers: admin });
  assert.equal(res.statusCode, 200);
  const body = res.json();
  assert.deepEqual(body.broken, { error: "connection refused" });
  assert.deepEqual(body.fine, { answer: 42 });
  assert.ok(Array.isArray(body.campaigns));
});

test("collectStats bounds a section that never answers", async () => {
  const { collectStats } = await import("../../../src/ops/stats/collect.ts");
  const inputs = {
    campaigns: async () => ({ campaigns: [], total: 0 }),
    sections: [{ name: "stuck", collect: () => new Promise(() => undefined) }],
  };
  const started = Date.now();
  const body = await collectStats(inputs, 100);
  assert.deepEqual(body.stuck, { error: "no answer within 100 ms" });
  assert.ok(Date.now() - started < 2000);
});
