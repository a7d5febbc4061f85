import assert from "node:assert/strict";
import { test } from "node:test";
import { campaignTag } from "../../../src/adapters/redis/keys.ts";
import { keySlot } from "../../../src/adapters/redis/nodes.ts";
import { checkInvariants, request, spike, startCluster } from "../../helpers/distributed.ts";
import { campaignsOnDistinctMasters, startRedisCluster } from "../../helpers/redis-cluster.ts";
import { skipWithoutServices } from "../../helpers/services.ts";
import { eventually } from "../../helpers/wait.ts";

/**
 * Distributed mode on a Redis Cluster (3 masters, 3 replicas, REDIS_URL
 * redis+cluster://...): 2 API and 2 worker processes, a spike of 20,000
 * users over three campaigns whose hash tags land on three different
 * masters. Every script touches one slot; the workers read the campaigns'
 * streams one slot at a time; every invariant holds for each campaign.
 */
const skip = await skipWithoutServices();

test("20,000 users over 3 campaigns on 3 Redis Cluster masters, 2 APIs + 2 workers: every invariant holds", {
  skip,
  timeout: 180_000,
}, async (t) => {
  const started = performance.now();
  const redis = await startRedisCluster(t);
  // Both rate limits on: decided in the admission script, their buckets in the campaign's slot.
  const cluster = await startCluster(t, {
    apis: 2,
    workers: 2,
    redisUrl: redis.url,
    env: { RATE_LIMIT_USER: "5/s", RATE_LIMIT_IP: "1000000/s" },
  });
  const campaigns = await campaignsOnDistinctMasters(redis, 3);
  // stampede's own slot arithmetic agrees with the cluster's CLUSTER KEYSLOT.
  for (const c of campaigns) assert.equal(keySlot(`{${campaignTag(c.id)}}`), c.slot);
  t.diagnostic(
    `campaigns: ${campaigns.map((c) => `${c.id} slot ${c.slot} on master :${c.master.port}`).join(", ")}`,
  );
  assert.equal(new Set(campaigns.map((c) => c.master.port)).size, 3, "three different masters");
  const stock = 3000;
  for (const c of campaigns) await cluster.createCampaign({ id: c.id, name: c.id, stock });
  const ready = performance.now();

  const users = 20_000;
  const perCampaign = campaigns.map((c, k) =>
    Array.from({ length: Math.ceil(users / 3) - (k === 2 ? 1 : 0) }, (_, i) => `${c.id}-user-${i}`),
  );
  assert.equal(
    perCampaign.reduce((n, u) => n + u.length, 0),
    users,
  );
  const apis = () => cluster.apis.map((p) => p.url);
  const unavailable: Record<string, number> = {};
  const results = await Promise.all(
    campaigns.map((c, k) =>
      spike(apis, c.id, perCampaign[k]!, {
        concurrency: 150,
        onReply: (_, reply) => {
          if (reply.status !== 503) return;
          const why = `${c.id}: ${String(reply.body.message)}`;
          unavailable[why] = (unavailable[why] ?? 0) + 1;
        },
      }),
    ),
  );
  t.diagnostic(`503s: ${JSON.stringify(unavailable)}`);
  const fired = performance.now();
  // No process met an error on the way (the start report's warnings aside): no CROSSSLOT, no
  // misrouted pipeline, no rate limiter failing open.
  for (const p of [...cluster.apis, ...cluster.workers]) {
    const problems = p
      .output()
      .split("\n")
      .filter((line) => /"level":(40|50|60)/.test(line) && !line.includes('"check":'));
    assert.deepEqual(problems.slice(0, 3), [], `${p.url} logged warnings or errors`);
  }
  for (const [k, c] of campaigns.entries())
    t.diagnostic(
      `${c.id}: ${JSON.stringify(results[k]!.statuses)} ${JSON.stringify(results[k]!.errors)}, slowest ${Math.round(results[k]!.slowestMs)} ms`,
    );

  for (const c of campaigns)
    await eventually(async () => (await cluster.rows(c.id)).length === stock, 60_000, `${c.id} issued`);
  for (const [k, c] of campaigns.entries()) {
    const { answers, admitted } = results[k]!;
    assert.equal(admitted.size, stock, `${c.id}: exactly the stock admitted`);
    checkInvariants(await cluster.rows(c.id), answers, admitted, { stock });
    const state = await request(apis()[0]!, "GET", `/v1/campaigns/${c.id}`);
    assert.equal(state.body.pending, 0, `${c.id}: quiet, nothing pending`);
    assert.equal(state.body.issued, stock);
  }
  t.diagnostic(
    `cluster up ${Math.round((ready - started) / 1000)} s, spike ${Math.round((fired - ready) / 1000)} s, ` +
      `total ${Math.round((performance.now() - started) / 1000)} s`,
  );
});
