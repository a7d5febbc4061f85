import assert from "node:assert/strict";
import { test } from "node:test";
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import { pino } from "pino";
import { loadConfig } from "../../src/config/config.ts";
import { buildApp } from "../../src/http/app.ts";
import { openDistributedApi } from "../../src/runtime/distributed/api.ts";
import { openDistributedWorker } from "../../src/runtime/distributed/worker.ts";
import { ADMIN_TOKEN, admin } from "../helpers/embedded-app.ts";
import { startOwnRedis } from "../helpers/own-redis.ts";
import { ownDatabase, skipWithoutServices, testSchema, uniqueName } from "../helpers/services.ts";
import { eventually } from "../helpers/wait.ts";

/**
 * SPEC "Claims": a claim that exists but cannot be read now is 503, never
 * 404; 404 only when the store that holds the truth says so. Distributed
 * mode in this process (an api and a worker runtime), over a Redis and a
 * PostgreSQL database of the test's own, each taken down in turn.
 */
const skip = await skipWithoutServices();

const TAGGED_UNKNOWN_CLAIM = "AAAAAAAAAAAzzzzzzzzzzzzzzzzzzzzzz";

function assertUnavailable(res: LightMyRequestResponse, what: string): void {
  assert.equal(res.statusCode, 503, `${what}: ${res.statusCode} ${res.body}`);
  assert.equal(res.json().error, "unavailable", what);
  assert.ok(Number(res.headers["retry-after"]) >= 1, `${what}: Retry-After`);
}

async function distributed(t: { after: (fn: () => Promise<void> | void) => void }) {
  const redis = await startOwnRedis(t, { persistence: false });
  const db = await ownDatabase(t, "stores");
  const config = loadConfig({
    ADMIN_TOKEN,
    REDIS_URL: redis.url,
    DATABASE_URL: db.url,
    // The Redis is the test's own and dies with it: no keys to clean up.
    REDIS_PREFIX: uniqueName("stores"),
    DATABASE_SCHEMA: testSchema(t, "stores", db.url),
    QUEUE: "redis",
    LOG_LEVEL: "silent",
  });
  const logger = pino({ level: "silent" });
  const worker = await openDistributedWorker(config, logger);
  const api = await openDistributedApi(config, logger);
  const app = await buildApp(api.api, { requestTimeoutMs: 3000 });
  // Closed by the test while its Redis and database still run (hooks registered
  // before this one, which kill them, would run first).
  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= (async () => {
      await app.close();
      await api.close();
      await worker.close();
    })();
    return closed;
  };
  t.after(close);
  return { app, redis, db, close };
}

const get = (app: FastifyInstance, url: string) => app.inject({ method: "GET", url, headers: admin });

test("PostgreSQL down: reads only the ledger can answer are 503, never 404; what Redis holds still answers", {
  skip,
  timeout: 120_000,
}, async (t) => {
  const { app, db, close } = await distributed(t);
  const created = await app.inject({
    method: "POST",
    url: "/v1/campaigns",
    headers: admin,
    payload: { id: "c", name: "C", stock: 5 },
  });
  assert.equal(created.statusCode, 201, created.body);
  const claimed = await app.inject({
    method: "POST",
    url: "/v1/campaigns/c/claims",
    payload: { userId: "u1" },
  });
  assert.equal(claimed.statusCode, 202, claimed.body);
  const { claimId } = claimed.json() as { claimId: string };
  // Issued: the claim has left Redis, only the ledger holds it.
  await eventually(async () => (await get(app, `/v1/claims/${claimId}`)).json().status === "issued", 30_000);

  await db.block();
  for (const url of [
    `/v1/claims/${claimId}`,
    `/v1/claims/${claimId}/events`,
    `/v1/claims/${TAGGED_UNKNOWN_CLAIM}`,
    "/v1/campaigns/c/users/u1/claims",
    "/v1/campaigns/c/export",
    "/v1/campaigns/c/audit",
    "/v1/campaigns/never-created",
  ])
    assertUnavailable(await get(app, url), `GET ${url}`);
  assertUnavailable(
    await app.inject({
      method: "PATCH",
      url: "/v1/campaigns/c",
      headers: admin,
      payload: { status: "paused" },
    }),
    "PATCH /v1/campaigns/c",
  );
  const campaign = await get(app, "/v1/campaigns/c");
  assert.equal(campaign.statusCode, 200, "the campaign's counters are in Redis");

  await db.unblock();
  await eventually(async () => (await get(app, `/v1/claims/${claimId}`)).statusCode === 200, 30_000);
  assert.equal((await get(app, `/v1/claims/${claimId}`)).json().status, "issued");
  assert.equal((await get(app, `/v1/claims/${TAGGED_UNKNOWN_CLAIM}`)).json().error, "claim_not_found");
  assert.equal((await get(app, "/v1/campaigns/never-created")).json().error, "campaign_not_found");
  assert.equal((await get(app, "/v1/campaigns/c/export")).statusCode, 200);
  await close();
});

test("Redis down: campaign, claim, user claims, event stream and lifecycle are 503, never 404", {
  skip,
  timeout: 120_000,
}, async (t) => {
  const { app, redis, close } = await distributed(t);
  await app.inject({
    method: "POST",
    url: "/v1/campaigns",
    headers: admin,
    payload: { id: "c", name: "C", stock: 5 },
  });
  const claimed = await app.inject({
    method: "POST",
    url: "/v1/campaigns/c/claims",
    payload: { userId: "u1" },
  });
  const { claimId } = claimed.json() as { claimId: string };

  await redis.kill9();
  for (const url of [
    "/v1/campaigns/c",
    `/v1/claims/${claimId}`,
    `/v1/claims/${claimId}/events`,
    `/v1/claims/${TAGGED_UNKNOWN_CLAIM}`,
    "/v1/campaigns/c/users/u1/claims",
  ])
    assertUnavailable(await get(app, url), `GET ${url}`);
  assertUnavailable(
    await app.inject({
      method: "PATCH",
      url: "/v1/campaigns/c",
      headers: admin,
      payload: { status: "paused" },
    }),
    "PATCH /v1/campaigns/c",
  );
  assertUnavailable(
    await app.inject({ method: "POST", url: "/v1/campaigns/c/claims", payload: { userId: "u2" } }),
    "POST claim",
  );
  // A worker closing while its Redis is down waits for it (its task consumers retry): bring it back first.
  await redis.restart();
  await close();
});
