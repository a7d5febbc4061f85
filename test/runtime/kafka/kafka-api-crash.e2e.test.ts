import assert from "node:assert/strict";
import { test } from "node:test";
import { RedisKeys } from "../../../src/adapters/redis/keys.ts";
import { request, startCluster } from "../../helpers/distributed.ts";
import { kafkaEnv, skipWithoutKafka } from "../../helpers/kafka.ts";
import { startServer } from "../../helpers/server-process.ts";
import { redisClient, skipWithoutServices } from "../../helpers/services.ts";
import { eventually } from "../../helpers/wait.ts";

/**
 * kill -9 of an API process between the Redis reservation and Kafka's
 * acknowledgement. The fault-injection setting KAFKA_FAULT_DELAY_MS holds
 * every produce of that process, so its claims sit reserved in the outbox
 * when it dies and its clients lose their answers. The workers' relay sends
 * them after the lease; the users, retrying on another API process, are
 * answered 409 naming their claim, which is issued.
 */
const skip = (await skipWithoutServices()) || (await skipWithoutKafka());

test("kill -9 of an API between reservation and Kafka ack: the relay sends the claims and they are issued", {
  skip,
  timeout: 180_000,
}, async (t) => {
  const cluster = await startCluster(t, { apis: 1, workers: 1, env: await kafkaEnv(t) });
  await cluster.createCampaign({ id: "gap", name: "outbox", stock: 100 });
  const stalled = await startServer(
    "api",
    { ...cluster.env, KAFKA_FAULT_DELAY_MS: "600000" },
    { timeoutMs: 30_000 },
  );
  t.after(() => stalled.stop("SIGKILL"));

  const users = Array.from({ length: 20 }, (_, i) => `lost-${i}`);
  const lost = users.map((userId) =>
    request(stalled.url, "POST", "/v1/campaigns/gap/claims", { userId }, {}, 60_000),
  );
  const redis = redisClient(t);
  const outbox = new RedisKeys(cluster.prefix).campaign("gap").outbox;
  await eventually(async () => (await redis.zcard(outbox)) === users.length, 20_000, "every claim reserved");
  await stalled.stop("SIGKILL");
  const answers = await Promise.all(lost);
  // Connection reset (or, on a slow machine, 503 after REQUEST_TIMEOUT_MS): no 202.
  assert.ok(
    answers.every((a) => a.status === 0 || a.status === 503),
    `the clients lost their answers: ${answers.map((a) => a.status).join(",")}`,
  );
  assert.equal((await cluster.rows("gap")).length, 0, "nothing reached Kafka before the kill");

  // The relay (lease 3 s) sends what the dead process left behind.
  await eventually(
    async () => (await cluster.rows("gap")).length === users.length,
    60_000,
    "relayed claims issued",
  );
  await eventually(async () => (await redis.zcard(outbox)) === 0, 10_000, "outbox empty");

  // Each user, retrying, learns the claim the dead process had reserved.
  const rows = new Map((await cluster.rows("gap")).map((r) => [r.user_id, r]));
  for (const userId of users) {
    const retry = await request(cluster.apis[0]!.url, "POST", "/v1/campaigns/gap/claims", { userId });
    assert.equal(retry.status, 409, `${userId}: ${JSON.stringify(retry.body)}`);
    assert.equal(retry.body.claimId, rows.get(userId)?.claim_id, `${userId}'s 409 names the issued claim`);
    const claim = (await request(cluster.apis[0]!.url, "GET", `/v1/claims/${retry.body.claimId}`)).body;
    assert.equal(claim.status, "issued");
    assert.equal(claim.couponCode, rows.get(userId)?.coupon_code, "the coupon code fixed at admission");
  }
  const campaign = (await request(cluster.apis[0]!.url, "GET", "/v1/campaigns/gap")).body;
  assert.equal(campaign.issued, users.length);
  assert.equal(campaign.pending, 0);
});
