import { test } from "node:test";
import { startCluster } from "../helpers/distributed.ts";
import { freezeUnderTraffic } from "../helpers/freeze.ts";
import { skipWithoutOwnPostgres, startOwnPostgres } from "../helpers/own-postgres.ts";

/**
 * PostgreSQL hangs for 4 s under steady claims (QUEUE=redis): SIGSTOP of
 * the postmaster and every backend of a cluster of the test's own, as a
 * stalled database host. Freezing only the backend serving the API would
 * model less: the pool would open a new connection past it. Here open
 * connections get no answer and new ones never get past the handshake, so
 * only the deadlines (query timeout, connection timeout) end a wait. An API
 * process does not need PostgreSQL to admit: claims keep being admitted; the
 * worker's batches fail after PG_QUERY_TIMEOUT_MS and are retried, its
 * /readyz answers 503 within READINESS_TIMEOUT_MS; once PostgreSQL resumes,
 * everything admitted is issued, exactly once.
 */
const skip = await skipWithoutOwnPostgres();
const REQUEST_TIMEOUT_MS = 1000;

test("PostgreSQL hangs for 4 s mid-traffic: every request answered in time, recovery, every 202 issued once", {
  skip,
  timeout: 120_000,
}, async (t) => {
  const postgres = await startOwnPostgres(t);
  t.after(() => postgres.thaw());
  const cluster = await startCluster(t, {
    apis: 1,
    workers: 1,
    databaseUrl: postgres.url,
    env: { REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS) },
  });
  const stock = 100_000;
  await cluster.createCampaign({ id: "frozen-pg", name: "PostgreSQL hangs", stock });
  await freezeUnderTraffic({
    cluster,
    campaignId: "frozen-pg",
    stock,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    freeze: postgres.freeze,
    thaw: postgres.thaw,
    log: (line) => t.diagnostic(line),
  });
});
