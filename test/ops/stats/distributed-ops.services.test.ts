import assert from "node:assert/strict";
import { test } from "node:test";
import { loadConfig } from "../../../src/config/config.ts";
import { planChecks } from "../../../src/ops/doctor/plan.ts";
import { runChecks } from "../../../src/ops/doctor/run.ts";
import { ADMIN_TOKEN, request, startCluster } from "../../helpers/distributed.ts";
import { skipWithoutServices } from "../../helpers/services.ts";
import { eventually } from "../../helpers/wait.ts";

/** Operations against distributed mode: one `stampede api`, one `stampede worker`, own prefix and schema. */
const skip = await skipWithoutServices();
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

interface StatsBody {
  mode: string;
  campaigns: Record<string, unknown>[];
  ledger: { issuedClaims: number };
  queue: { lag: { source: string; lag: number }[]; total: number };
  redis: {
    info: Record<string, number | string>;
    stats: Record<string, number>;
    doctor: string;
    keyFamilies: { families: { family: string; keys: number }[] };
    eviction: { canEvict: boolean };
  };
}

const series = (text: string, line: RegExp) => {
  const match = line.exec(text);
  return match ? Number(match[1]) : undefined;
};

test("distributed: stats with Redis memory and stream lag, metrics on api and worker, doctor", {
  skip,
}, async (t) => {
  const cluster = await startCluster(t, { apis: 1, workers: 1 });
  const api = cluster.apis[0]!.url;
  const worker = cluster.workers[0]!.url;
  await cluster.createCampaign({ id: "ops-drop", name: "Ops drop", stock: 25 });
  const answers = await Promise.all(
    Array.from({ length: 30 }, (_, i) =>
      request(api, "POST", "/v1/campaigns/ops-drop/claims", { userId: `user-${i}` }),
    ),
  );
  assert.equal(answers.filter((a) => a.status === 202).length, 25);
  await eventually(
    async () => (await request(api, "GET", "/v1/campaigns/ops-drop")).body.issued === 25,
    20_000,
    "25 claims issued",
  );

  const stats = (await request(api, "GET", "/v1/admin/stats", undefined, admin)).body as unknown as StatsBody;
  assert.equal(stats.mode, "api");
  assert.deepEqual(
    stats.campaigns.map((c) => [c.id, c.issued, c.pending, c.remaining]),
    [["ops-drop", 25, 0, 0]],
  );
  assert.equal(stats.ledger.issuedClaims, 25);
  const streams = stats.queue.lag.map((l) => l.source);
  assert.ok(
    streams.some((s) => s.endsWith(":c:ops-drop:stream")),
    streams.join(", "),
  );
  assert.ok(
    streams.some((s) => s.endsWith(":tasks:stream")),
    streams.join(", "),
  );
  assert.equal(stats.queue.total, 0, "everything admitted is issued and acknowledged");
  const redis = stats.redis;
  assert.equal(typeof redis.info.used_memory, "number");
  assert.equal(typeof redis.doctor, "string");
  assert.ok((redis.stats["keys.count"] ?? 0) > 0);
  const families = Object.fromEntries(redis.keyFamilies.families.map((f) => [f.family, f.keys]));
  assert.equal(families["{*}:c:*:holders"], 1, JSON.stringify(families));
  assert.equal(families["{*}:c:*:stream"], 1);
  assert.ok(
    Object.keys(families).every((f) => !f.includes("ops-drop") && !f.includes("user-")),
    `no id in a family name: ${Object.keys(families).join(", ")}`,
  );
  assert.equal(redis.eviction.canEvict, redis.info.maxmemory_policy !== "noeviction");

  const apiMetrics = (await request(api, "GET", "/metrics")).body.raw as string;
  assert.equal(series(apiMetrics, /^stampede_admissions_total\{outcome="admitted"\} (\d+)$/m), 25);
  assert.equal(series(apiMetrics, /^stampede_admissions_total\{outcome="sold_out"\} (\d+)$/m), 5);
  const workerMetrics = (await request(worker, "GET", "/metrics")).body.raw as string;
  assert.ok(
    (series(workerMetrics, /^stampede_claims_issued_total (\d+)$/m) ?? 0) >= 25,
    workerMetrics.slice(0, 400),
  );
  // One series for all the campaigns' streams (METRICS_CAMPAIGN_LABELS is off), none per campaign.
  assert.match(workerMetrics, /^stampede_queue_lag\{source="stampede-claim-workers"\} 0$/m);
  assert.doesNotMatch(workerMetrics, /ops-drop/);
  assert.match(workerMetrics, /^stampede_worker_batch_size_count [1-9]/m);

  const port = new URL(api).port;
  const verdicts = await runChecks(await planChecks(loadConfig({ ...cluster.env, PORT: port })));
  const status = (name: string) => verdicts.filter((v) => v.name === name).map((v) => v.status);
  assert.deepEqual(status("redis"), ["ok"]);
  assert.deepEqual(status("postgres"), ["ok"]);
  assert.deepEqual(status("postgres-schema"), ["ok"], JSON.stringify(verdicts));
  assert.deepEqual(status("server"), ["ok"]);
  assert.match(verdicts.find((v) => v.name === "queue-lag")!.message, /^0 queued, not yet processed/);
  assert.equal(verdicts.filter((v) => v.name === "settings").length, 0, "all settings there");
});
