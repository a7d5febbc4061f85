import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { RedisKeys } from "../../../src/adapters/redis/keys.ts";
import { checkInvariants, request, spike, startCluster } from "../../helpers/distributed.ts";
import { checkIssuedTopic, readIssuedTopic } from "../../helpers/issued-topic.ts";
import { kafkaEnv, ownBroker, skipWithoutKafka, testGroup } from "../../helpers/kafka.ts";
import { redisClient, skipWithoutServices } from "../../helpers/services.ts";
import { eventually } from "../../helpers/wait.ts";

/**
 * The broker killed (kill -9) during a spike and started again 10 s later on
 * its data (a broker of the test's own). Every 202 ends issued. What clients
 * got while it was down (docs/kafka.md, "When the broker is down"):
 * - 503 at once, nothing reserved: once a produce failed, the breaker
 *   answers claims without touching Redis until a probe is acknowledged;
 * - 503 after the request timeout, reservation kept: claims whose produce
 *   was in flight when the broker died (or that were a probe) stay in the
 *   outbox; the relay sends them when the broker is back, and their users,
 *   retrying, are answered 409 naming the claim, which is issued;
 * - never a 202 that Kafka had not acknowledged: no 202 to a claim sent
 *   after the kill and answered before the restart began. (A 202 answered
 *   just after the kill, to a claim acknowledged just before it, or while
 *   the restarted broker already answers but the script has not seen it yet,
 *   is counted apart: the edges of the outage as the test sees them.)
 * The issued topic (on the same broker) ends with every issued claim: the
 * workers' batches whose publish failed were retried, not acknowledged.
 */
const skip = (await skipWithoutServices()) || (await skipWithoutKafka());

test("broker down for 10 s during a spike: every 202 ends issued; clients got 503 meanwhile", {
  skip,
  timeout: 400_000,
}, async (t) => {
  const broker = await ownBroker(t);
  const env = await kafkaEnv(t, { KAFKA_BROKERS: broker.brokers.join(",") });
  const cluster = await startCluster(t, { apis: 2, workers: 2, env });
  const stock = 5000;
  await cluster.createCampaign({ id: "outage", name: "broker outage", stock });
  const users = Array.from({ length: 8000 }, (_, i) => `user-${i}`);

  let outage: Promise<void> | undefined;
  let down = false;
  const whileDown: Record<string, number> = {};
  const started = performance.now();
  let downAt = 0;
  let restartAt = 0;
  let upAt = 0;
  const edges = { afterKillMs: 0, afterRestartMs: 0 };
  const result = await spike(() => cluster.apis.map((a) => a.url), "outage", users, {
    concurrency: 100,
    maxAttempts: 400,
    onReply: (_user, reply, sentAt) => {
      if (!down) return;
      const at = performance.now();
      const kind =
        reply.status === 503
          ? /nothing was reserved/.test(String(reply.body.message))
            ? "503 nothing reserved"
            : "503 reservation kept"
          : reply.status === 202 && sentAt < downAt
            ? "202 sent before the kill"
            : reply.status === 202 && restartAt > 0 && at >= restartAt
              ? "202 while restarting"
              : String(reply.status || reply.error);
      whileDown[kind] = (whileDown[kind] ?? 0) + 1;
      // How far into the outage an edge 202 came (ms after the kill / after the restart began).
      if (kind === "202 sent before the kill") edges.afterKillMs = Math.max(edges.afterKillMs, at - downAt);
      if (kind === "202 while restarting")
        edges.afterRestartMs = Math.max(edges.afterRestartMs, at - restartAt);
    },
    onAnswer: (done) => {
      if (outage || done < 1000) return;
      outage = (async () => {
        await broker.kill9();
        down = true;
        downAt = performance.now();
        await sleep(10_000);
        restartAt = performance.now();
        await broker.restartKeep();
        down = false;
        upAt = performance.now();
      })();
    },
  });
  await outage;
  const finals: Record<string, number> = {};
  for (const reply of result.answers.values()) finals[reply.status] = (finals[reply.status] ?? 0) + 1;
  t.diagnostic(
    `broker down ${((upAt - downAt) / 1000).toFixed(1)} s (kill -9, 10 s, restart) during a ` +
      `${((performance.now() - started) / 1000).toFixed(1)} s spike; answers while down ${JSON.stringify(whileDown)} ` +
      `(latest edge 202s: ${Math.round(edges.afterKillMs)} ms after the kill, ${Math.round(edges.afterRestartMs)} ms into the restart); ` +
      `final answers ${JSON.stringify(finals)}; retries ${result.retries}`,
  );
  assert.ok(downAt > 0 && upAt > downAt, "the broker went down during the spike");
  assert.equal(whileDown["202"] ?? 0, 0, "no 202 to a claim sent while the broker was down");
  assert.ok((whileDown["503 nothing reserved"] ?? 0) > 0, "the breaker answered 503 without reserving");

  await eventually(
    async () => (await cluster.rows("outage")).length === Math.min(stock, result.answers.size),
    180_000,
    "every admitted claim in the ledger",
  );
  checkInvariants(await cluster.rows("outage"), result.answers, result.admitted, { stock });
  const redis = redisClient(t);
  await eventually(
    async () => (await redis.zcard(new RedisKeys(cluster.prefix).campaign("outage").outbox)) === 0,
    30_000,
    "outbox empty",
  );
  await eventually(
    async () => (await request(cluster.apis[0]!.url, "GET", "/v1/campaigns/outage")).body.pending === 0,
    30_000,
    "pending 0",
  );

  const rows = (await cluster.rows("outage")).map((r) => ({ ...r, campaign_id: "outage" }));
  const records = await readIssuedTopic({
    brokers: broker.brokers,
    topic: env.KAFKA_ISSUED_TOPIC!,
    group: testGroup(t, "shop"),
    done: (_, claimIds) => claimIds.size >= rows.length,
    timeoutMs: 60_000,
  });
  const repeats = checkIssuedTopic(records, rows);
  t.diagnostic(
    `issued topic: ${records.length} records for ${rows.length} issued claims (${repeats} repeats)`,
  );
});
