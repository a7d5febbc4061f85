import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { startCluster } from "../helpers/distributed.ts";
import {
  holdsLoadTest,
  holdsRace,
  holdsThroughKills,
  httpDriver,
  ledgerHolds,
} from "../helpers/holds-load.ts";
import type { ServerProcess } from "../helpers/server-process.ts";
import { skipWithoutServices } from "../helpers/services.ts";

/**
 * Issue 16's distributed scenarios with QUEUE=redis through `stampede api`
 * processes and their routes (docs/api.md "Holds": holdSeconds on create,
 * POST /v1/claims/:id/confirm and /release), 2 APIs and 2 workers. The
 * routes come from the holds-embedded branch: these fail until it is merged
 * (the same scenarios with an API's admission store in the test pass on
 * their own: distributed-holds-workers.e2e.test.ts).
 */
const skip = await skipWithoutServices();
/** Holds of a few seconds (holdSeconds is 30 and more outside tests). */
const env = { QUEUE: "redis", HOLD_MIN_SECONDS: "1" };
const alive = (p: ServerProcess) => p.child.exitCode === null && p.child.signalCode === null;

test("1,000 users, stock 250, 2 s holds: 60% confirm, 20% release, 20% expire, then a second wave", {
  skip,
  timeout: 180_000,
}, async (t) => {
  const cluster = await startCluster(t, { apis: 2, workers: 2, env });
  await cluster.createCampaign({ id: "load", name: "holds load", stock: 250, holdSeconds: 2 });
  await holdsLoadTest(
    httpDriver(() => cluster.apis.filter(alive).map((a) => a.url), "load"),
    {
      users: 1000,
      stock: 250,
      holdMs: 2000,
      rows: () => ledgerHolds(cluster.schema, "load"),
      diagnostic: (m) => t.diagnostic(m),
    },
  );
});

test("confirms in the last 50 ms before and after expiresAt: each hold ends issued xor expired", {
  skip,
  timeout: 120_000,
}, async (t) => {
  const cluster = await startCluster(t, { apis: 2, workers: 2, env });
  await cluster.createCampaign({ id: "race", name: "holds race", stock: 300, holdSeconds: 2 });
  await holdsRace(
    httpDriver(() => cluster.apis.filter(alive).map((a) => a.url), "race"),
    {
      holds: 300,
      rows: () => ledgerHolds(cluster.schema, "race"),
      diagnostic: (m) => t.diagnostic(m),
    },
  );
});

test("kill -9 of an API and of every worker while holds are live and expiring: on time after the restart", {
  skip,
  timeout: 180_000,
}, async (t) => {
  const cluster = await startCluster(t, { apis: 2, workers: 2, env });
  await cluster.createCampaign({ id: "kills", name: "holds kills", stock: 300, holdSeconds: 3 });
  await holdsThroughKills(
    httpDriver(() => cluster.apis.filter(alive).map((a) => a.url), "kills"),
    {
      holds: 300,
      holdMs: 3000,
      chaosAfterMs: 2500,
      async chaos() {
        await Promise.all([
          cluster.apis[0]!.stop("SIGKILL"),
          ...cluster.workers.splice(0).map((w) => w.stop("SIGKILL")),
        ]);
        await sleep(1500);
        await Promise.all([cluster.startApi(), cluster.startWorker(), cluster.startWorker()]);
        return { backAt: Date.now() };
      },
      rows: () => ledgerHolds(cluster.schema, "kills"),
      diagnostic: (m) => t.diagnostic(m),
    },
  );
});
