import assert from "node:assert/strict";
import { test } from "node:test";
import { checkInvariants, spike, startCluster } from "../../helpers/distributed.ts";
import { checkIssuedTopic, readIssuedTopic } from "../../helpers/issued-topic.ts";
import { kafkaBrokers, kafkaEnv, skipWithoutKafka, testGroup } from "../../helpers/kafka.ts";
import { skipWithoutServices } from "../../helpers/services.ts";
import { eventually } from "../../helpers/wait.ts";

/**
 * Kafka mode's `issued` topic (KAFKA_ISSUED_TOPIC) end to end: two campaigns
 * spiked at once over 2 API processes and 2 workers, one worker killed with
 * -9 mid-spike. Once the ledger holds every claim, a consumer of the topic
 * (its own group, from the start) finds every issued claim of the ledger, as
 * an IssuedEvent v1 whose delivery id header is the body's, keyed by its
 * campaign (one partition per campaign), and nothing the ledger does not
 * hold. Repeats are allowed (at least once) and reported.
 */
const skip = (await skipWithoutServices()) || (await skipWithoutKafka());

test("every issued claim is on the issued topic, keyed by campaign, even across a worker's kill -9", {
  skip,
  timeout: 300_000,
}, async (t) => {
  const env = await kafkaEnv(t);
  const cluster = await startCluster(t, { apis: 2, workers: 2, env });
  const campaigns = [
    { id: "issued-a", stock: 1500, users: 3000 },
    { id: "issued-b", stock: 500, users: 1000 },
  ];
  for (const c of campaigns) await cluster.createCampaign({ id: c.id, name: c.id, stock: c.stock });

  let killed: Promise<unknown> | undefined;
  const results = await Promise.all(
    campaigns.map((c) =>
      spike(
        () => cluster.apis.map((a) => a.url),
        c.id,
        Array.from({ length: c.users }, (_, i) => `${c.id}-user-${i}`),
        {
          concurrency: 150,
          maxAttempts: 200,
          // Mid-spike: the worker dies between its ledger writes and its commits.
          onAnswer: (done) => {
            if (c.id === "issued-a" && done === 800) killed ??= cluster.workers[0]!.stop("SIGKILL");
          },
        },
      ),
    ),
  );
  await killed;
  assert.ok(killed, "a worker was killed during the spike");

  const rows = [];
  for (const [i, c] of campaigns.entries()) {
    await eventually(
      async () => (await cluster.rows(c.id)).length === c.stock,
      120_000,
      `every claim of ${c.id} in the ledger`,
    );
    const campaignRows = await cluster.rows(c.id);
    checkInvariants(campaignRows, results[i]!.answers, results[i]!.admitted, { stock: c.stock });
    rows.push(...campaignRows.map((r) => ({ ...r, campaign_id: c.id })));
  }

  const wanted = new Set(rows.map((r) => r.claim_id));
  const records = await readIssuedTopic({
    brokers: await kafkaBrokers(),
    topic: env.KAFKA_ISSUED_TOPIC!,
    group: testGroup(t, "shop"),
    done: (_, claimIds) => claimIds.size >= wanted.size && [...wanted].every((id) => claimIds.has(id)),
    timeoutMs: 90_000,
  });
  const repeats = checkIssuedTopic(records, rows);
  const partitions = new Set(records.map((r) => `${r.key}/${r.partition}`));
  t.diagnostic(
    `${rows.length} issued claims; ${records.length} records on the issued topic (${repeats} repeats, ` +
      `at least once); campaigns on partitions ${[...partitions].join(", ")}`,
  );
  assert.equal(partitions.size, 2, "each campaign on one partition");
});
