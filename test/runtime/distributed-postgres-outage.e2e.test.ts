import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { ADMIN_TOKEN, checkInvariants, request, spike, startCluster } from "../helpers/distributed.ts";
import { ownDatabase, skipWithoutServices } from "../helpers/services.ts";
import { eventually } from "../helpers/wait.ts";

/**
 * PostgreSQL unavailable for a whole spike while its server stays up (a
 * database of the test's own, made to refuse and drop connections, as in a
 * failover or maintenance): claims keep being admitted, since the stream holds
 * them, and read as pending from Redis; workers retry with backoff, and once
 * PostgreSQL is back every admitted claim is issued. The crash of PostgreSQL
 * itself, mid-write, is distributed-postgres-crash.test.ts.
 */
const skip = await skipWithoutServices();

test("PostgreSQL down during a spike: claims still admitted, all issued once it is back", {
  skip,
  timeout: 240_000,
}, async (t) => {
  const db = await ownDatabase(t, "outage");
  const cluster = await startCluster(t, { apis: 1, workers: 1, databaseUrl: db.url });
  const stock = 1500;
  await cluster.createCampaign({ id: "drop", name: "outage", stock });
  const api = cluster.apis[0]!.url;
  const worker = cluster.workers[0]!.url;

  await db.block();
  await eventually(
    async () => (await request(worker, "GET", "/readyz")).status === 503,
    20_000,
    "worker not ready",
  );
  const workerReady = await request(worker, "GET", "/readyz", undefined, {
    authorization: `Bearer ${ADMIN_TOKEN}`,
  });
  assert.deepEqual(
    (workerReady.body.dependencies as { name: string; ok: boolean }[]).map((d) => [d.name, d.ok]),
    [
      ["redis", true],
      ["postgresql", false],
    ],
  );
  assert.equal(
    (await request(api, "GET", "/readyz")).status,
    200,
    "an API process does not need PostgreSQL to admit",
  );

  const users = Array.from({ length: 2000 }, (_, i) => `user-${i}`);
  const result = await spike(() => [api], "drop", users, { concurrency: 500 });
  assert.equal(result.admitted.size, stock, "admitted while PostgreSQL is down");
  const during = (await request(api, "GET", "/v1/campaigns/drop")).body;
  assert.equal(during.issued, 0);
  assert.equal(during.pending, stock);
  // A pending claim can be read (from Redis) while the ledger is away.
  const someClaim = [...result.admitted.values()][0]!;
  assert.equal((await request(api, "GET", `/v1/claims/${someClaim}`)).body.status, "pending");

  await sleep(1500); // the worker keeps retrying meanwhile
  await db.unblock();
  await eventually(
    async () => (await request(api, "GET", "/v1/campaigns/drop")).body.pending === 0,
    90_000,
    "all issued",
  );
  checkInvariants(await cluster.rows("drop"), result.answers, result.admitted, { stock });
  assert.equal((await request(api, "GET", `/v1/claims/${someClaim}`)).body.status, "issued");
  await eventually(
    async () => (await request(worker, "GET", "/readyz")).status === 200,
    20_000,
    "worker ready again",
  );
});
