import { test } from "node:test";
import { startCluster } from "../helpers/distributed.ts";
import { freezeUnderTraffic } from "../helpers/freeze.ts";
import { startOwnRedis } from "../helpers/own-redis.ts";
import { skipWithoutServices } from "../helpers/services.ts";

/**
 * Redis hangs (SIGSTOP of a redis-server of the test's own) for 4 s under
 * steady claims, QUEUE=redis: its sockets stay open and nothing is answered,
 * so only a deadline ends a wait. Every request is answered within
 * REQUEST_TIMEOUT_MS + 1 s with a contract code (claims 503 with Retry-After
 * after REDIS_COMMAND_TIMEOUT_MS, reads and /readyz 503), the processes admit
 * and issue again once it resumes, and every 202 is issued exactly once.
 */
const skip = await skipWithoutServices();
const REQUEST_TIMEOUT_MS = 1000;

test("Redis hangs for 4 s mid-traffic: every request answered in time, recovery, every 202 issued once", {
  skip,
  timeout: 120_000,
}, async (t) => {
  const redis = await startOwnRedis(t);
  t.after(() => redis.thaw());
  const cluster = await startCluster(t, {
    apis: 1,
    workers: 1,
    redisUrl: redis.url,
    env: { REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS) },
  });
  const stock = 100_000;
  await cluster.createCampaign({ id: "frozen-redis", name: "Redis hangs", stock });
  await freezeUnderTraffic({
    cluster,
    campaignId: "frozen-redis",
    stock,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    freeze: redis.freeze,
    thaw: redis.thaw,
    log: (line) => t.diagnostic(line),
  });
});
