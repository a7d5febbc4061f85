import assert from "node:assert/strict";
import { test } from "node:test";
import { checkInvariants, request, spike, startCluster } from "../helpers/distributed.ts";
import { skipWithoutServices } from "../helpers/services.ts";
import { eventually } from "../helpers/wait.ts";

/**
 * Admission under contention (issue: distributed mode, part 1): 20,000 claims
 * from distinct users at concurrency 2,000 over 2 API processes, stock 1,000:
 * exactly 1,000 admitted, nobody twice, the rest 410; then the ledger agrees.
 */
const skip = await skipWithoutServices();

test("20,000 users, concurrency 2,000, 2 API processes, stock 1,000: exactly 1,000 admitted", {
  skip,
  timeout: 240_000,
}, async (t) => {
  const cluster = await startCluster(t, { apis: 2, workers: 1 });
  await cluster.createCampaign({ id: "drop", name: "contention", stock: 1000 });
  const users = Array.from({ length: 20_000 }, (_, i) => `user-${i}`);
  const started = performance.now();
  const result = await spike(() => cluster.apis.map((a) => a.url), "drop", users, { concurrency: 2000 });
  const seconds = (performance.now() - started) / 1000;
  t.diagnostic(
    `${users.length} claims in ${seconds.toFixed(1)} s; statuses ${JSON.stringify(result.statuses)}`,
  );

  const byStatus = (s: number) => [...result.answers.values()].filter((r) => r.status === s).length;
  assert.equal(byStatus(202), 1000, "exactly the stock admitted");
  assert.equal(byStatus(410), 19_000, "everyone else sold out");
  const claimIds = new Set(result.admitted.values());
  assert.equal(claimIds.size, 1000, "no claim id handed out twice");

  await eventually(
    async () => (await cluster.rows("drop")).length === 1000,
    60_000,
    "1,000 claims in the ledger",
  );
  const rows = await cluster.rows("drop");
  checkInvariants(rows, result.answers, result.admitted, { stock: 1000 });
  const campaign = await request(cluster.apis[1]!.url, "GET", "/v1/campaigns/drop");
  await eventually(
    async () => (await request(cluster.apis[1]!.url, "GET", "/v1/campaigns/drop")).body.pending === 0,
    30_000,
    "pending 0",
  );
  assert.equal(campaign.body.remaining, 0);
  // Both API processes admitted (the work really was shared).
  assert.ok(
    cluster.apis.every((a) => !a.output().includes('"level":50')),
    "no error logged",
  );
});
