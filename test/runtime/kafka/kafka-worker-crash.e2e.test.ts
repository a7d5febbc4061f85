import assert from "node:assert/strict";
import { test } from "node:test";
import { topicLag } from "../../../src/adapters/kafka/queue/lag.ts";
import { checkInvariants, request, spike, startCluster } from "../../helpers/distributed.ts";
import { kafkaEnv, skipWithoutKafka, testAdmin } from "../../helpers/kafka.ts";
import { skipWithoutServices } from "../../helpers/services.ts";
import { eventually } from "../../helpers/wait.ts";

/**
 * kill -9 of a worker in the middle of a spike in Kafka mode: the worker is
 * frozen first, so that it dies owning partitions with claims it had not
 * committed; the group notices after the session timeout, gives its
 * partitions to the other worker (which starts from the committed offsets,
 * redoing what the dead one may have half done), and a replacement joins.
 * Nothing is lost (every 202 issued) and nothing doubled (one ledger row per
 * claim, no unit or user slot refused as held by another claim).
 */
const skip = (await skipWithoutServices()) || (await skipWithoutKafka());

type Admin = Awaited<ReturnType<typeof testAdmin>>;

/**
 * The partitions each member of the group owns, once the group is stable with
 * `members` members that all own some. Read while a rebalance runs (a worker
 * that just joined), describeGroups shows members with no assignment: CI once
 * froze a worker it believed owned nothing and waited for lag that never came.
 */
async function stableAssignment(
  admin: Admin,
  group: string,
  members: number,
): Promise<Map<string, number[]>> {
  let owned = new Map<string, number[]>();
  await eventually(
    async () => {
      const described = (await admin.describeGroups({ groups: [group] })).get(group);
      owned = new Map(
        [...(described?.members.values() ?? [])].map((m) => [
          m.clientId,
          [...(m.assignments?.values() ?? [])].flatMap((a) => a.partitions),
        ]),
      );
      const state = String(described?.state ?? "").toUpperCase();
      return state === "STABLE" && owned.size === members && [...owned.values()].every((p) => p.length > 0);
    },
    30_000,
    `group ${group} stable with ${members} members owning partitions`,
  );
  return owned;
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(" ")[1]) : 0;
}

test("kill -9 of a worker mid-batch: its partitions are taken over, nothing lost or doubled", {
  skip,
  timeout: 300_000,
}, async (t) => {
  const env = await kafkaEnv(t, { BATCH_SIZE: "200" });
  const cluster = await startCluster(t, { apis: 2, workers: 2, env });
  const stock = 6000;
  await cluster.createCampaign({ id: "crash", name: "kafka worker crash", stock });
  const users = Array.from({ length: 10_000 }, (_, i) => `user-${i}`);
  const admin = await testAdmin(t);
  const doomed = cluster.workers[0]!;
  // Both workers in the group before the first claim, so no rebalance runs mid-spike.
  await stableAssignment(admin, env.KAFKA_GROUP!, 2);
  let chaos: Promise<void> | undefined;
  let orphaned: number[] = [];
  let lagAtKill = 0;
  const result = await spike(() => cluster.apis.map((a) => a.url), "crash", users, {
    concurrency: 500,
    onAnswer: (done) => {
      if (chaos || done < 1500) return;
      chaos = (async () => {
        // Which partitions the doomed worker owns (its client id carries its pid).
        const owned = await stableAssignment(admin, env.KAFKA_GROUP!, 2);
        orphaned = [...owned].find(([clientId]) => clientId.includes(`-${doomed.child.pid}-`))?.[1] ?? [];
        assert.ok(
          orphaned.length > 0,
          `the doomed worker (pid ${doomed.child.pid}) owns partitions: ${[...owned.keys()]}`,
        );
        doomed.child.kill("SIGSTOP");
        // Frozen, it commits nothing more while claims keep landing on its partitions.
        await eventually(
          async () => {
            const lag = await topicLag(admin, env.KAFKA_TOPIC!, env.KAFKA_GROUP!);
            lagAtKill = lag.filter((p) => orphaned.includes(p.partition)).reduce((s, p) => s + p.lag, 0);
            return lagAtKill > 0;
          },
          20_000,
          `claims waiting on the frozen worker's partitions ${orphaned.join(",")}`,
        );
        await doomed.stop("SIGKILL");
        await cluster.startWorker();
      })();
    },
  });
  await chaos;
  t.diagnostic(
    `statuses ${JSON.stringify(result.statuses)}; the killed worker owned partitions ${orphaned.join(",")} ` +
      `with ${lagAtKill} claims not committed when it died`,
  );
  assert.ok(orphaned.length > 0, "the killed worker owned partitions");
  assert.deepEqual(result.errors, {});
  await eventually(
    async () => (await cluster.rows("crash")).length === stock,
    120_000,
    "every 202 in the ledger",
  );
  const rows = await cluster.rows("crash");
  checkInvariants(rows, result.answers, result.admitted, { stock });
  assert.equal(new Set(rows.map((r) => r.claim_id)).size, rows.length, "one row per claim");
  await eventually(
    async () => (await topicLag(admin, env.KAFKA_TOPIC!, env.KAFKA_GROUP!)).every((p) => p.lag === 0),
    60_000,
    "the group consumed the orphaned partitions",
  );
  const live = cluster.workers.filter((w) => w !== doomed);
  let issuedCount = 0;
  for (const w of live) {
    assert.equal(await metric(w.url, "stampede_ledger_conflicts_total"), 0, "a unit or slot refused");
    issuedCount += await metric(w.url, "stampede_claims_issued_total");
  }
  t.diagnostic(`surviving workers wrote ${issuedCount} claims (redeliveries included) for ${stock} issued`);
  await eventually(
    async () => (await request(cluster.apis[0]!.url, "GET", "/v1/campaigns/crash")).body.pending === 0,
    30_000,
    "pending 0",
  );
  assert.equal((await request(cluster.apis[0]!.url, "GET", "/v1/campaigns/crash")).body.issued, stock);
});
