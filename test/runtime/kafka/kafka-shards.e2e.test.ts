import assert from "node:assert/strict";
import { test } from "node:test";
import { RedisKeys, shardRef } from "../../../src/adapters/redis/keys.ts";
import { checkInvariants, request, spike, startCluster } from "../../helpers/distributed.ts";
import { kafkaEnv, skipWithoutKafka } from "../../helpers/kafka.ts";
import { redisClient, skipWithoutServices } from "../../helpers/services.ts";
import { eventually } from "../../helpers/wait.ts";

/**
 * A campaign over 4 shards in Kafka mode (QUEUE=kafka, a real broker): each
 * shard has its own outbox, which the relay and the acknowledgements find by
 * the claim id's shard. Exactly the stock is admitted and issued, no 410
 * comes back before the last admitted claim was sent, and every shard's
 * outbox is empty once quiet.
 */
const skip = (await skipWithoutServices()) || (await skipWithoutKafka());

test("a campaign over 4 shards in Kafka mode: exactly the stock, outboxes drained per shard", {
  skip,
  timeout: 180_000,
}, async (t) => {
  const cluster = await startCluster(t, { apis: 2, workers: 1, env: await kafkaEnv(t) });
  const stock = 1000;
  await cluster.createCampaign({ id: "hot", name: "kafka shards", stock, shards: 4 });
  const users = Array.from({ length: 3000 }, (_, i) => `user-${i}`);
  const others: Record<string, number> = {};
  let lastAdmittedSentAt = 0;
  let firstSoldOutAt = Number.POSITIVE_INFINITY;
  const result = await spike(() => cluster.apis.map((a) => a.url), "hot", users, {
    concurrency: 200,
    onReply: (_, reply, sentAt) => {
      if (reply.status !== 202 && reply.status !== 410) {
        const why = `${reply.status} ${String(reply.body.message)}`;
        others[why] = (others[why] ?? 0) + 1;
      }
      if (reply.status === 202) lastAdmittedSentAt = Math.max(lastAdmittedSentAt, sentAt);
      if (reply.status === 410) firstSoldOutAt = Math.min(firstSoldOutAt, performance.now());
    },
  });
  t.diagnostic(
    `statuses ${JSON.stringify(result.statuses)}; retries ${result.retries}; ${JSON.stringify(others)}`,
  );
  assert.equal(result.admitted.size, stock, "as many 202s as units");
  assert.equal(result.statuses[410], users.length - stock);
  assert.ok(firstSoldOutAt >= lastAdmittedSentAt, "a 410 came back before the last admitted claim was sent");

  await eventually(
    async () => (await cluster.rows("hot")).length === stock,
    120_000,
    "every 202 in the ledger",
  );
  checkInvariants(await cluster.rows("hot"), result.answers, result.admitted, { stock });
  await eventually(
    async () => (await request(cluster.apis[0]!.url, "GET", "/v1/campaigns/hot")).body.pending === 0,
    30_000,
    "pending 0",
  );
  const body = (await request(cluster.apis[0]!.url, "GET", "/v1/campaigns/hot")).body;
  assert.equal(body.issued, stock);
  assert.equal(body.remaining, 0);
  const redis = redisClient(t);
  const keys = new RedisKeys(cluster.prefix);
  await eventually(async () => {
    for (let s = 0; s < 4; s++) assert.equal(await redis.zcard(keys.campaign(shardRef("hot", s)).outbox), 0);
    return true;
  }, 30_000);
});
