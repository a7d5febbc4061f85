import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { checkInvariants, type Reply, request, spike, startCluster } from "../helpers/distributed.ts";
import { startOwnRedis } from "../helpers/own-redis.ts";
import { deleteKeys, REDIS_URL, skipWithoutServices, sql } from "../helpers/services.ts";
import { eventually } from "../helpers/wait.ts";

/**
 * Losing Redis (invariant 6, docs/api.md): flushed between two spikes, the loss is
 * detected and the campaign rebuilt from PostgreSQL before it admits again;
 * killed with -9 mid-spike with appendfsync always, nothing it answered 202 is
 * lost.
 */
const skip = await skipWithoutServices();

const users = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `user-${from + i}`);

test("Redis flushed between two spikes: detected, rebuilt from PostgreSQL, holders still 409, nothing over-issued", {
  skip,
  timeout: 240_000,
}, async (t) => {
  const cluster = await startCluster(t, { apis: 1, workers: 1 });
  const stock = 2000;
  await cluster.createCampaign({ id: "drop", name: "flush", stock });
  const api = () => [cluster.apis[0]!.url];
  const first = await spike(api, "drop", users(0, 1500), { concurrency: 500 });
  assert.equal(first.admitted.size, 1500);
  await eventually(async () => (await cluster.rows("drop")).length === 1500, 60_000, "first spike issued");

  // Everything under this cluster's prefix goes, as in a restart without persistence.
  assert.ok((await deleteKeys(REDIS_URL, `${cluster.prefix}:*`)) > 0);

  // The holders of the first spike come back, with 1,000 newcomers for the 500 units left.
  const second = await spike(api, "drop", [...users(0, 1500), ...users(1500, 2500)], { concurrency: 500 });
  t.diagnostic(`second spike: ${JSON.stringify(second.statuses)}`);
  const holders = users(0, 1500).map((u) => second.answers.get(u)!);
  assert.ok(
    holders.every((r) => r.status === 409 && r.body.status === "issued"),
    "every holder of the first spike gets 409 with its issued claim",
  );
  assert.ok(
    holders.every((r, i) => r.body.claimId === first.admitted.get(`user-${i}`)),
    "naming the same claim",
  );
  assert.equal(second.admitted.size, 500, "exactly the units left");

  await eventually(async () => (await cluster.rows("drop")).length === stock, 60_000, "second spike issued");
  const admitted = new Map([...first.admitted, ...second.admitted]);
  checkInvariants(await cluster.rows("drop"), second.answers, admitted, { stock });
  const [epoch] = await sql<{ epoch: number }>(
    `SELECT epoch::int AS epoch FROM "${cluster.schema}".redis_epochs WHERE campaign_id = 'drop'`,
  );
  assert.ok(epoch!.epoch >= 2, "the loss was detected and the state rebuilt under a new epoch");
});

test("a Redis with appendfsync always killed -9 mid-spike and restarted: every 202 issued, nothing over-issued", {
  skip,
  timeout: 240_000,
}, async (t) => {
  const redis = await startOwnRedis(t, { appendfsync: "always" });
  const cluster = await startCluster(t, { apis: 1, workers: 1, redisUrl: redis.url });
  const stock = 3000;
  await cluster.createCampaign({ id: "drop", name: "aof", stock });
  let outage: Promise<void> | undefined;
  // Held until Redis is dead, so the rest of the spike meets the outage however fast it runs.
  let held: Promise<void> | undefined;
  const during: Reply[] = [];
  const result = await spike(() => [cluster.apis[0]!.url], "drop", users(0, 5000), {
    concurrency: 500,
    gate: () => held,
    onAnswer: (done) => {
      if (outage || done < 800) return;
      let release = () => {};
      held = new Promise((resolve) => {
        release = resolve;
      });
      outage = (async () => {
        await redis.kill9().finally(() => {
          held = undefined;
          release();
        });
        during.push(
          await request(cluster.apis[0]!.url, "POST", "/v1/campaigns/drop/claims", { userId: "probe" }),
        );
        await sleep(1000);
        await redis.restart();
      })();
    },
  });
  await outage;
  t.diagnostic(`statuses ${JSON.stringify(result.statuses)}; errors ${JSON.stringify(result.errors)}`);
  assert.equal(during[0]?.status, 503, "while Redis is down, claims get 503");
  assert.ok(during[0]?.headers["retry-after"]);
  assert.ok((result.statuses["503"] ?? 0) > 0, "the spike saw the outage");
  await eventually(
    async () => (await cluster.rows("drop")).length === stock,
    90_000,
    "every admitted claim issued",
  );
  checkInvariants(await cluster.rows("drop"), result.answers, result.admitted, { stock });
  const [epoch] = await sql<{ epoch: number }>(
    `SELECT epoch::int AS epoch FROM "${cluster.schema}".redis_epochs WHERE campaign_id = 'drop'`,
  );
  assert.equal(epoch!.epoch, 1, "nothing was lost, so nothing was rebuilt");
});
