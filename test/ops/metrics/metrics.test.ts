import assert from "node:assert/strict";
import { test } from "node:test";
import { countFailures } from "../../../src/ops/metrics/instrument.ts";
import { Metrics } from "../../../src/ops/metrics/metrics.ts";
import { admin, createCampaign, embeddedApp } from "../../helpers/embedded-app.ts";
import { eventually } from "../../helpers/wait.ts";

/** The value of one series in Prometheus text, or undefined when absent. */
function series(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const ok = Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`));
    if (ok) return Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return undefined;
}

const scrape = async (app: Awaited<ReturnType<typeof embeddedApp>>["app"]) => {
  const res = await app.inject({ method: "GET", url: "/metrics" });
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers["content-type"]), /^text\/plain; version=0\.0\.4/);
  return res.body;
};

test("GET /metrics counts requests by route pattern and status, without per-URL labels", async (t) => {
  const { app } = await embeddedApp(t);
  await createCampaign(app, { id: "m1", name: "M", stock: 2 });
  for (const user of ["a", "b", "c"])
    await app.inject({ method: "POST", url: "/v1/campaigns/m1/claims", payload: { userId: user } });
  // Thirty different campaign ids: still one route label.
  for (let i = 0; i < 30; i++) await app.inject({ method: "GET", url: `/v1/campaigns/nope-${i}` });
  await app.inject({ method: "GET", url: "/no/such/route/123" });

  const text = await scrape(app);
  const claims = { route: "/v1/campaigns/:id/claims", method: "POST" };
  assert.equal(series(text, "stampede_http_requests_total", { ...claims, status: "202" }), 2);
  assert.equal(series(text, "stampede_http_requests_total", { ...claims, status: "410" }), 1);
  assert.equal(
    series(text, "stampede_http_requests_total", { route: "/v1/campaigns/:id", status: "404" }),
    30,
  );
  assert.equal(series(text, "stampede_http_requests_total", { route: "(unmatched)", status: "404" }), 1);
  assert.equal(series(text, "stampede_http_request_duration_seconds_count", claims), 3);
  assert.doesNotMatch(text, /nope-\d/, "no URL ends up in a label");
  assert.doesNotMatch(text, /route="\/no\/such/);

  assert.equal(series(text, "stampede_admissions_total", { outcome: "admitted" }), 2);
  assert.equal(series(text, "stampede_admissions_total", { outcome: "sold_out" }), 1);
  assert.notEqual(series(text, "nodejs_eventloop_lag_seconds"), undefined, "event-loop lag is exported");
  assert.notEqual(series(text, "stampede_queue_lag", { source: "claims" }), undefined);
});

test("worker batches, issued claims and queue lag reach /metrics", async (t) => {
  const { app } = await embeddedApp(t);
  await createCampaign(app, { id: "m2", name: "M", stock: 50 });
  await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      app.inject({ method: "POST", url: "/v1/campaigns/m2/claims", payload: { userId: `u${i}` } }),
    ),
  );
  await eventually(async () => {
    const res = await app.inject({ method: "GET", url: "/v1/campaigns/m2" });
    return res.json().issued === 20;
  });
  const text = await scrape(app);
  assert.equal(series(text, "stampede_claims_issued_total"), 20);
  assert.equal(series(text, "stampede_worker_batch_size_sum"), 20);
  const batches = series(text, "stampede_worker_batch_size_count") ?? 0;
  assert.ok(batches >= 1 && batches <= 20, `batches: ${batches}`);
  assert.equal(series(text, "stampede_worker_batch_duration_seconds_count"), batches);
  assert.equal(series(text, "stampede_queue_lag", { source: "claims" }), 0);
  assert.equal(series(text, "stampede_ledger_conflicts_total"), 0);
});

test("a failing dependency is counted, by dependency", async () => {
  const metrics = new Metrics({ defaultMetrics: false });
  class Flaky {
    #calls = 0;
    async read() {
      this.#calls++;
      throw new Error("down");
    }
    write() {
      throw new Error("sync failure");
    }
    get calls() {
      return this.#calls;
    }
  }
  const flaky = countFailures(new Flaky(), "ledger", metrics);
  await assert.rejects(flaky.read(), /down/);
  assert.throws(() => flaky.write(), /sync failure/);
  assert.equal(flaky.calls, 1, "private fields still work through the wrapper");
  const text = await metrics.text();
  assert.equal(series(text, "stampede_dependency_errors_total", { dependency: "ledger" }), 2);
});

test("an admission that throws counts as outcome=error and as an admission dependency error", async (t) => {
  const { app, runtime } = await embeddedApp(t);
  await createCampaign(app, { id: "m3", name: "M", stock: 5 });
  // Break the journal the way a failed fsync does: appends are refused from then on.
  const journal = runtime.queue.journal as unknown as { append: () => Promise<never> };
  journal.append = () => Promise.reject(new Error("journal write failed: EIO"));
  const res = await app.inject({ method: "POST", url: "/v1/campaigns/m3/claims", payload: { userId: "x" } });
  assert.equal(res.statusCode, 503);
  const text = await scrape(app);
  assert.equal(series(text, "stampede_admissions_total", { outcome: "error" }), 1);
  assert.equal(series(text, "stampede_dependency_errors_total", { dependency: "admission" }), 1);
  const stats = await app.inject({ method: "GET", url: "/v1/admin/stats", headers: admin });
  assert.equal(stats.statusCode, 200);
});

test("METRICS_TOKEN: /metrics answers only its bearer (401 otherwise); open without it", {
  timeout: 30_000,
}, async (t) => {
  const token = "metrics-token-0123456789";
  const { app } = await embeddedApp(t, { app: { metricsToken: token } });
  for (const headers of [{}, { authorization: "Bearer wrong-token-0123456789" }, admin]) {
    const res = await app.inject({ method: "GET", url: "/metrics", headers });
    assert.equal(res.statusCode, 401, JSON.stringify(headers));
    assert.equal(res.json().error, "unauthorized");
  }
  const ok = await app.inject({
    method: "GET",
    url: "/metrics",
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(ok.statusCode, 200);
  assert.match(ok.body, /stampede_http_requests_total/);
  const { app: open } = await embeddedApp(t);
  assert.equal((await open.inject({ method: "GET", url: "/metrics" })).statusCode, 200);
});

test("/metrics stays bounded under random URLs, ids and methods: no new series per request", {
  timeout: 60_000,
}, async (t) => {
  const { app } = await embeddedApp(t);
  await createCampaign(app, { id: "b", name: "B", stock: 1 });
  const flood = async (round: number) => {
    for (let i = 0; i < 300; i++) {
      const id = `${round}-${i}-${Math.random().toString(36).slice(2)}`;
      await app.inject({ method: "GET", url: `/v1/campaigns/${id}` });
      await app.inject({ method: "GET", url: `/v1/claims/${id.padEnd(22, "x")}` });
      await app.inject({ method: "POST", url: `/v1/campaigns/${id}/claims`, payload: { userId: id } });
      await app.inject({ method: "GET", url: `/random/${id}` });
      await app.inject({ method: ["PUT", "DELETE", "PATCH"][i % 3] as "PUT", url: `/v1/claims/${id}` });
    }
  };
  const seriesCount = async () =>
    (await scrape(app)).split("\n").filter((line) => line.startsWith("stampede_http_")).length;
  await seriesCount(); // the scrape's own route gets its series now, not during the floods
  await flood(1);
  const after1 = await seriesCount();
  await flood(2);
  assert.equal(await seriesCount(), after1, "the second flood added no series");
});

test("stampede_holds_total counts each hold once by how it ended in the ledger", async (t) => {
  const { app } = await embeddedApp(t, { settings: { HOLD_MIN_SECONDS: 1, HOLD_REAP_INTERVAL_MS: 50 } });
  await createCampaign(app, { id: "h", name: "H", stock: 5, holdSeconds: 1 });
  const before = await scrape(app);
  for (const outcome of ["confirmed", "released", "expired"])
    assert.equal(
      series(before, "stampede_holds_total", { outcome }),
      0,
      `${outcome} is exported from the start`,
    );
  const ids: string[] = [];
  for (const user of ["a", "b", "c", "d"])
    ids.push(
      (await app.inject({ method: "POST", url: "/v1/campaigns/h/claims", payload: { userId: user } })).json()
        .claimId,
    );
  const post = (url: string) => app.inject({ method: "POST", url, headers: admin });
  await post(`/v1/claims/${ids[0]}/confirm`);
  await post(`/v1/claims/${ids[0]}/confirm`); // a repeat is not counted
  await post(`/v1/claims/${ids[1]}/release`);
  await eventually(
    async () => series(await scrape(app), "stampede_holds_total", { outcome: "expired" }) === 2,
    5000,
  );
  const text = await scrape(app);
  assert.equal(series(text, "stampede_holds_total", { outcome: "confirmed" }), 1);
  assert.equal(series(text, "stampede_holds_total", { outcome: "released" }), 1);
  assert.equal(series(text, "stampede_holds_total", { outcome: "expired" }), 2);
});

test("observeBatch: holds by outcome from the worker's batches", async () => {
  const metrics = new Metrics({ defaultMetrics: false });
  metrics.observeBatch({
    size: 5,
    issued: 2,
    conflicts: 0,
    durationMs: 1,
    holds: { confirmed: 2, released: 1, expired: 0 },
  });
  metrics.observeBatch({ size: 1, issued: 0, conflicts: 0, durationMs: 1 });
  const text = await metrics.text();
  assert.equal(series(text, "stampede_holds_total", { outcome: "confirmed" }), 2);
  assert.equal(series(text, "stampede_holds_total", { outcome: "released" }), 1);
  assert.equal(series(text, "stampede_holds_total", { outcome: "expired" }), 0);
});
