import assert from "node:assert/strict";
import { test } from "node:test";
import { topicLag } from "../../../src/adapters/kafka/queue/lag.ts";
import { checkInvariants, spike, startCluster } from "../../helpers/distributed.ts";
import { kafkaEnv, SHORT_KAFKA_TIMEOUTS, skipWithoutKafka, testAdmin } from "../../helpers/kafka.ts";
import { deleteKeys, REDIS_URL, skipWithoutServices, sql } from "../../helpers/services.ts";
import { eventually } from "../../helpers/wait.ts";

/**
 * Redis lost in Kafka mode while admitted claims are still in the topic
 * (the worker is frozen, so none of them is in PostgreSQL yet). The rebuild
 * must not trust the ledger until the workers consumed the topic to its end
 * (lag 0): then it rebuilds from PostgreSQL, the holders of the first spike
 * get 409 naming their claims, and no unit is handed out twice.
 */
const skip = (await skipWithoutServices()) || (await skipWithoutKafka());
const users = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `user-${from + i}`);

test("Redis lost with claims still in the topic: the rebuild waits for lag 0, then rebuilds from PostgreSQL", {
  skip,
  timeout: 300_000,
}, async (t) => {
  // A delivery bound of about 19 s (3 attempts of 2 s connect + 2 x 2 s request + 250 ms), which the
  // rebuild waits out: the users' retries meanwhile stay inside their rate limit.
  const env: Record<string, string> = { ...(await kafkaEnv(t)), ...SHORT_KAFKA_TIMEOUTS };
  const cluster = await startCluster(t, { apis: 1, workers: 1, env });
  const stock = 600;
  await cluster.createCampaign({ id: "loss", name: "redis loss", stock });
  const api = () => [cluster.apis[0]!.url];
  const worker = cluster.workers[0]!;

  // The first spike lands in Kafka while the worker is frozen: acknowledged, not in the ledger.
  worker.child.kill("SIGSTOP");
  t.after(() => {
    worker.child.kill("SIGCONT");
  });
  const first = await spike(api, "loss", users(0, 400), { concurrency: 200 });
  assert.equal(first.admitted.size, 400);
  assert.equal((await cluster.rows("loss")).length, 0, "nothing in the ledger yet");
  const admin = await testAdmin(t);
  const lagAtLoss = (await topicLag(admin, env.KAFKA_TOPIC!, env.KAFKA_GROUP!)).reduce(
    (s, p) => s + p.lag,
    0,
  );
  assert.equal(lagAtLoss, 400, "the first spike waits in the topic");

  // Redis loses everything of this cluster (a restart without persistence).
  assert.ok((await deleteKeys(REDIS_URL, `${cluster.prefix}:*`)) > 0);
  worker.child.kill("SIGCONT");

  // The holders come back with 400 newcomers for the 200 units left.
  const started = performance.now();
  const second = await spike(api, "loss", [...users(0, 400), ...users(400, 800)], {
    concurrency: 200,
    maxAttempts: 400,
  });
  t.diagnostic(
    `second spike ${((performance.now() - started) / 1000).toFixed(1)} s (the rebuild waits for lag 0): ` +
      `${JSON.stringify(second.statuses)}`,
  );
  const holders = users(0, 400).map((u) => second.answers.get(u)!);
  assert.ok(
    holders.every((r, i) => r.status === 409 && r.body.claimId === first.admitted.get(`user-${i}`)),
    "every holder of the first spike gets 409 naming its claim",
  );
  assert.equal(second.admitted.size, stock - 400, "exactly the units left");

  await eventually(
    async () => (await cluster.rows("loss")).length === stock,
    60_000,
    "every claim in the ledger",
  );
  checkInvariants(
    await cluster.rows("loss"),
    second.answers,
    new Map([...first.admitted, ...second.admitted]),
    {
      stock,
    },
  );
  const [epoch] = await sql<{ epoch: number }>(
    `SELECT epoch::int AS epoch FROM "${cluster.schema}".redis_epochs WHERE campaign_id = 'loss'`,
  );
  assert.ok(epoch!.epoch >= 2, "the loss was detected and the state rebuilt under a new epoch");
});
