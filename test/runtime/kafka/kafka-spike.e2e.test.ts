import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { RedisKeys } from "../../../src/adapters/redis/keys.ts";
import { checkInvariants, request, spike, startCluster } from "../../helpers/distributed.ts";
import { kafkaEnv, skipWithoutKafka } from "../../helpers/kafka.ts";
import { redisClient, skipWithoutServices } from "../../helpers/services.ts";
import { eventually } from "../../helpers/wait.ts";

/**
 * The 10,000-user spike in Kafka mode (QUEUE=kafka, a real broker) over 2 API
 * processes and 2 workers: invariants 1-5 (docs/api.md), checked against PostgreSQL's
 * rows. Every 202 was sent after Kafka acknowledged the claim; once quiet the
 * outbox is empty and the group's lag is 0.
 */
const skip = (await skipWithoutServices()) || (await skipWithoutKafka());
const CONTRACT = new Set([202, 403, 404, 409, 410, 429, 503]);

test("10,000 users over 2 APIs and 2 workers in Kafka mode: invariants 1-5 in PostgreSQL", {
  skip,
  timeout: 300_000,
}, async (t) => {
  const cluster = await startCluster(t, { apis: 2, workers: 2, env: await kafkaEnv(t) });
  const stock = 3000;
  await cluster.createCampaign({ id: "spike", name: "kafka spike", stock });
  const users = Array.from({ length: 10_000 }, (_, i) => `user-${i}`);

  // Invariant 1 as observed from outside: remaining never negative, sampled during the spike.
  let sampling = true;
  let lowestRemaining = Number.POSITIVE_INFINITY;
  const sampler = (async () => {
    while (sampling) {
      const body = (await request(cluster.apis[1]!.url, "GET", "/v1/campaigns/spike")).body;
      if (typeof body.remaining === "number") lowestRemaining = Math.min(lowestRemaining, body.remaining);
      await sleep(25);
    }
  })();
  const started = performance.now();
  const result = await spike(() => cluster.apis.map((a) => a.url), "spike", users, { concurrency: 1000 });
  const seconds = (performance.now() - started) / 1000;
  sampling = false;
  await sampler;
  t.diagnostic(
    `${users.length} users in ${seconds.toFixed(1)} s; statuses ${JSON.stringify(result.statuses)}; ` +
      `retries ${result.retries}; slowest answer ${Math.round(result.slowestMs)} ms`,
  );

  // 5: every request answered with a contract code in bounded time, no connection error.
  assert.deepEqual(result.errors, {}, "connection errors");
  for (const status of Object.keys(result.statuses).map(Number))
    assert.ok(CONTRACT.has(status), `status ${status} outside the contract`);
  assert.ok(result.slowestMs < 10_000, `an answer took ${Math.round(result.slowestMs)} ms`);
  assert.ok(lowestRemaining >= 0, `remaining was ${lowestRemaining}`);
  assert.equal(result.admitted.size, stock, "as many 202s as units");

  // 1-4 against PostgreSQL once the workers drained the topic.
  await eventually(
    async () => (await cluster.rows("spike")).length === stock,
    120_000,
    "every 202 in the ledger",
  );
  checkInvariants(await cluster.rows("spike"), result.answers, result.admitted, { stock });
  await eventually(
    async () => (await request(cluster.apis[0]!.url, "GET", "/v1/campaigns/spike")).body.pending === 0,
    30_000,
    "pending 0",
  );
  const body = (await request(cluster.apis[0]!.url, "GET", "/v1/campaigns/spike")).body;
  assert.equal(body.issued, stock);
  assert.equal(body.remaining, 0);

  // Nothing left between Redis and Kafka, and the group consumed everything.
  const redis = redisClient(t);
  assert.equal(await redis.zcard(new RedisKeys(cluster.prefix).campaign("spike").outbox), 0, "outbox empty");
  const stats = (
    await request(cluster.apis[0]!.url, "GET", "/v1/admin/stats", undefined, {
      authorization: `Bearer ${cluster.env.ADMIN_TOKEN}`,
    })
  ).body as { queue: { lag: { source: string; lag: number }[] } };
  const partitions = stats.queue.lag.filter((l) => l.source.startsWith(`${cluster.env.KAFKA_TOPIC}/`));
  assert.equal(partitions.length, 12, "lag reported per partition");
  await eventually(
    async () => {
      const s = (
        await request(cluster.apis[0]!.url, "GET", "/v1/admin/stats", undefined, {
          authorization: `Bearer ${cluster.env.ADMIN_TOKEN}`,
        })
      ).body as typeof stats;
      return s.queue.lag
        .filter((l) => l.source.startsWith(`${cluster.env.KAFKA_TOPIC}/`))
        .every((l) => l.lag === 0);
    },
    // Offsets are committed after each batch; on a loaded machine a rebalance can hold that up.
    90_000,
    "lag 0 on every partition",
  );
  const metrics = await (await fetch(`${cluster.workers[0]!.url}/metrics`)).text();
  assert.match(metrics, new RegExp(`stampede_queue_lag\\{source="${cluster.env.KAFKA_TOPIC}/0"\\} 0`));
});
