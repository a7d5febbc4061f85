import assert from "node:assert/strict";
import { test } from "node:test";
import { refTag, shardRef } from "../../../src/adapters/redis/keys.ts";
import { checkInvariants, request, spike, startCluster } from "../../helpers/distributed.ts";
import { startRedisCluster } from "../../helpers/redis-cluster.ts";
import { skipWithoutServices } from "../../helpers/services.ts";
import { eventually } from "../../helpers/wait.ts";

/**
 * A hot campaign over 8 shards (docs/scaling.md "Hot campaign: shards") on a
 * Redis Cluster of 3 masters, 2 API and 1 worker processes: one campaign's
 * stock split over slots on every master, slices running out at different
 * moments and refilled from the others. Exactly the stock is admitted, no
 * 410 is answered while any shard still had stock, the counters and the
 * ledger agree.
 */
const skip = await skipWithoutServices();

const SHARDS = 8;
const STOCK = 10_000;
const USERS = 30_000;

test("a campaign over 8 shards on 3 Redis Cluster masters: exactly the stock, no 410 before the last unit", {
  skip,
  timeout: 240_000,
}, async (t) => {
  const started = performance.now();
  const redis = await startRedisCluster(t);
  const cluster = await startCluster(t, { apis: 2, workers: 1, redisUrl: redis.url });
  const id = "hot";
  // The shards' slots spread over the masters: what lets one campaign use more than one core.
  const masters = new Set<string>();
  for (let s = 0; s < SHARDS; s++)
    masters.add((await redis.masterOf(await redis.keySlot(`{${refTag(shardRef(id, s))}}`))).master.id);
  t.diagnostic(`8 shards on ${masters.size} masters`);
  assert.ok(masters.size >= 2, "the shards span more than one master");
  await cluster.createCampaign({ id, name: "hot", stock: STOCK, shards: SHARDS });
  const ready = performance.now();

  const users = Array.from({ length: USERS }, (_, i) => `hot-user-${i}`);
  const apis = () => cluster.apis.map((p) => p.url);
  // When each 202 was sent and each 410 came back: a 410 that came back before the request of
  // some 202 was even sent was answered while a unit was still to be had.
  let lastAdmittedSentAt = 0;
  let firstSoldOutAt = Number.POSITIVE_INFINITY;
  const unavailable: Record<string, number> = {};
  const result = await spike(apis, id, users, {
    concurrency: 150,
    onReply: (_, reply, sentAt) => {
      if (reply.status === 202) lastAdmittedSentAt = Math.max(lastAdmittedSentAt, sentAt);
      if (reply.status === 410) firstSoldOutAt = Math.min(firstSoldOutAt, performance.now());
      if (reply.status === 503) {
        const why = String(reply.body.message);
        unavailable[why] = (unavailable[why] ?? 0) + 1;
      }
    },
  });
  const fired = performance.now();
  t.diagnostic(`answers ${JSON.stringify(result.statuses)}, 503s ${JSON.stringify(unavailable)}`);
  t.diagnostic(`slowest ${Math.round(result.slowestMs)} ms`);

  assert.equal(result.admitted.size, STOCK, "exactly the stock admitted");
  assert.equal(result.statuses[410], USERS - STOCK, "every other user answered 410");
  assert.ok(
    firstSoldOutAt >= lastAdmittedSentAt,
    `a 410 came back ${Math.round(lastAdmittedSentAt - firstSoldOutAt)} ms before the last admitted claim was sent`,
  );
  for (const p of [...cluster.apis, ...cluster.workers]) {
    const problems = p
      .output()
      .split("\n")
      .filter((line) => /"level":(40|50|60)/.test(line) && !line.includes('"check":'));
    // No warning either: no loss check mistaking a shard's counter for lost state, no failed transfer.
    assert.deepEqual(problems.slice(0, 3), [], `${p.url} logged warnings or errors`);
  }

  await eventually(async () => (await cluster.rows(id)).length === STOCK, 60_000, "all issued");
  checkInvariants(await cluster.rows(id), result.answers, result.admitted, { stock: STOCK });
  const state = await request(apis()[0]!, "GET", `/v1/campaigns/${id}`);
  assert.equal(state.body.shards, SHARDS);
  assert.equal(state.body.stock, STOCK);
  assert.equal(state.body.issued, STOCK, "issued summed over the shards");
  assert.equal(state.body.pending, 0);
  assert.equal(state.body.remaining, 0);
  t.diagnostic(
    `cluster up ${Math.round((ready - started) / 1000)} s, spike ${Math.round((fired - ready) / 1000)} s ` +
      `(${Math.round(USERS / ((fired - ready) / 1000))} claims/s)`,
  );
});
