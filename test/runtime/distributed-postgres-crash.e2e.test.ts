import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import {
  ADMIN_TOKEN,
  checkInvariants,
  type Reply,
  request,
  spike,
  startCluster,
} from "../helpers/distributed.ts";
import { skipWithoutOwnPostgres, startOwnPostgres } from "../helpers/own-postgres.ts";
import { eventually } from "../helpers/wait.ts";

/**
 * PostgreSQL itself crashing mid-spike: kill -9 of the postmaster and every
 * backend of a cluster of the test's own (fsync on), while the worker is
 * writing batches to it, then a restart on the same data directory (crash
 * recovery). A transaction cut short is rolled back and its batch redelivered
 * from the stream; one that committed before its acknowledgement is
 * redelivered too, and the ledger's keys make that harmless. Nobody restarts
 * the stampede processes: they must find their way back on their own.
 * (distributed-postgres-outage.test.ts covers a server that stays up but
 * refuses the database for a whole spike.)
 */
const skip = await skipWithoutOwnPostgres();

const users = (count: number) => Array.from({ length: count }, (_, i) => `user-${i}`);
const readiness = (reply: Reply) =>
  (reply.body.dependencies as { name: string; ok: boolean }[]).map((d) => [d.name, d.ok]);

test("PostgreSQL killed -9 mid-spike and restarted: every 202 issued once, exactly the stock, workers recover alone", {
  skip,
  timeout: 300_000,
}, async (t) => {
  const postgres = await startOwnPostgres(t);
  const cluster = await startCluster(t, { apis: 1, workers: 1, databaseUrl: postgres.url });
  const stock = 4000;
  await cluster.createCampaign({ id: "drop", name: "pg crash", stock });
  const api = cluster.apis[0]!.url;
  const worker = cluster.workers[0]!;

  let down = false;
  let admittedWhileDown = 0;
  let issuedBeforeKill = -1;
  let outage: Promise<void> | undefined;
  // Held from the kill until the worker saw PostgreSQL go: the rest of the spike then
  // lands while it is down, however fast the first part ran (CI once saw it all admitted before the kill).
  let held: Promise<void> | undefined;
  const probes: Record<string, Reply> = {};
  const result = await spike(() => [api], "drop", users(7000), {
    concurrency: 500,
    gate: () => held,
    onReply: (_user, reply) => {
      if (down && reply.status === 202) admittedWhileDown++;
    },
    onAnswer: (done) => {
      // Early, so that most of the stock is still to be admitted and issued when PostgreSQL dies.
      if (outage || done < 300) return;
      let release = () => {};
      held = new Promise((resolve) => {
        release = resolve;
      });
      outage = (async () => {
        issuedBeforeKill = (await cluster.rows("drop")).length;
        await postgres.kill9();
        down = true;
        await eventually(
          async () => (await request(worker.url, "GET", "/readyz")).status === 503,
          20_000,
          "the worker reports PostgreSQL down",
        ).finally(() => {
          held = undefined;
          release();
        });
        // The dependencies are listed to the admin token only.
        const asAdmin = { authorization: `Bearer ${ADMIN_TOKEN}` };
        probes.worker = await request(worker.url, "GET", "/readyz", undefined, asAdmin);
        probes.api = await request(api, "GET", "/readyz", undefined, asAdmin);
        // A few seconds down, the worker retrying meanwhile.
        await sleep(3000);
        down = false;
        await postgres.restart();
      })();
    },
  });
  await outage;
  t.diagnostic(
    `statuses ${JSON.stringify(result.statuses)}; issued before the kill ${issuedBeforeKill}; ` +
      `admitted while down ${admittedWhileDown}`,
  );
  assert.ok(issuedBeforeKill < stock, "the kill came while claims were still being issued");
  assert.match(
    postgres.log(),
    /not properly shut down; automatic recovery in progress/,
    "a crash, recovered",
  );
  assert.deepEqual(readiness(probes.worker!), [
    ["redis", true],
    ["postgresql", false],
  ]);
  assert.equal(probes.api!.status, 200, "an API process does not need PostgreSQL to admit");
  assert.ok(admittedWhileDown > 0, "claims were admitted while PostgreSQL was down");
  assert.equal(result.admitted.size, stock, "the whole stock admitted");

  await eventually(
    async () => (await request(api, "GET", "/v1/campaigns/drop")).body.pending === 0,
    120_000,
    "every admitted claim issued",
  );
  checkInvariants(await cluster.rows("drop"), result.answers, result.admitted, { stock });
  assert.equal(
    new Set((await cluster.rows("drop")).map((r) => r.coupon_code)).size,
    stock,
    "no coupon code issued twice",
  );
  await eventually(
    async () => (await request(worker.url, "GET", "/readyz")).status === 200,
    30_000,
    "the worker ready again",
  );
  assert.equal(worker.child.exitCode, null, "the worker recovered without a restart");
  const retried = worker.output().match(/ledger write failed/g)?.length ?? 0;
  t.diagnostic(`the worker's failed ledger writes, retried: ${retried}`);
  assert.equal(cluster.apis[0]!.child.exitCode, null, "so did the API process");
});
