import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { pino } from "pino";
import { openKafkaClaims } from "../../src/adapters/kafka/claims.ts";
import { PostgresLedger } from "../../src/adapters/postgres/postgres-ledger.ts";
import { RedisAdmission } from "../../src/adapters/redis/admission/redis-admission.ts";
import { RedisKeys } from "../../src/adapters/redis/keys.ts";
import { streamSink } from "../../src/adapters/redis/streams/claims-sink.ts";
import { distributedConfig } from "../../src/config/commands.ts";
import type { Campaign } from "../../src/domain/types.ts";
import type { AdmissionStore } from "../../src/ports/admission.ts";
import { type Cluster, startCluster } from "../helpers/distributed.ts";
import {
  holdsLoadTest,
  holdsRace,
  holdsThroughKills,
  ledgerHolds,
  storeDriver,
} from "../helpers/holds-load.ts";
import { kafkaEnv, SHORT_KAFKA_TIMEOUTS, skipWithoutKafka } from "../helpers/kafka.ts";
import { pool } from "../helpers/load.ts";
import {
  DATABASE_URL,
  deleteKeys,
  REDIS_URL,
  redisClient,
  skipWithoutServices,
} from "../helpers/services.ts";
import { eventually } from "../helpers/wait.ts";

/**
 * Issue 16's distributed scenarios with real `stampede worker` processes
 * (claim workers, the hold reapers, Kafka mode's relay) and, standing in for
 * an API process, the admission store an API process builds, in this
 * process (RedisAdmission; in Kafka mode behind KafkaAdmission on the
 * claims topic): what the confirm and release routes call. The same
 * scenarios through `stampede api` processes and their HTTP routes:
 * distributed-holds.e2e.test.ts and kafka/kafka-holds.e2e.test.ts.
 */
const skip = await skipWithoutServices();
const skipKafka = skip || (await skipWithoutKafka());
const logger = pino({ level: "silent" });

type After = { after: (fn: () => Promise<void> | void) => void };

/** An API process's admission store, in this process, on the cluster's Redis, schema and queue. */
async function apiStore(
  t: After,
  cluster: Cluster,
): Promise<{ store: AdmissionStore; create(c: Campaign): Promise<void> }> {
  const config = distributedConfig("api", cluster.env);
  const redis = redisClient(t, REDIS_URL, { enableAutoPipelining: true });
  const keys = new RedisKeys(cluster.prefix);
  const ledger = new PostgresLedger({ connectionString: DATABASE_URL, schema: cluster.schema });
  t.after(() => ledger.close());
  const kafka =
    config.QUEUE === "kafka"
      ? await openKafkaClaims({ role: "api", config, redis, keys, logger, instance: "test-api" })
      : undefined;
  if (kafka) t.after(() => kafka.close());
  const inner = new RedisAdmission({
    redis,
    keys,
    ledger,
    logger,
    sink: kafka ? kafka.sink : streamSink({ redis, keys, cap: config.STREAM_MAX_LEN }),
    subscriber: redisClient(t),
  });
  t.after(() => inner.close());
  const store = kafka ? kafka.admission(inner) : inner;
  return {
    store,
    async create(campaign: Campaign) {
      await ledger.createCampaign(campaign);
      await store.putCampaign(campaign);
    },
  };
}

const campaign = (id: string, stock: number, holdSeconds: number): Campaign => ({
  id,
  name: id,
  stock,
  perUserLimit: 1,
  startsAt: null,
  endsAt: null,
  createdAt: Date.now(),
  holdSeconds,
});

for (const mode of ["redis", "kafka"] as const) {
  const skipMode = mode === "kafka" ? skipKafka : skip;
  // Kafka: a delivery bound of about 19 s (SHORT_KAFKA_TIMEOUTS), which a rebuild waits out, shorter than the holds.
  const envOf = async (t: After): Promise<Record<string, string>> =>
    mode === "kafka" ? { ...(await kafkaEnv(t)), ...SHORT_KAFKA_TIMEOUTS } : { QUEUE: "redis" };

  test(`${mode}: 1,000 users, stock 250, 2 s holds: 60% confirm, 20% release, 20% expire, then a second wave`, {
    skip: skipMode,
    timeout: 180_000,
  }, async (t) => {
    const cluster = await startCluster(t, { apis: 0, workers: 2, env: await envOf(t) });
    const api = await apiStore(t, cluster);
    await api.create(campaign("load", 250, 2));
    await holdsLoadTest(storeDriver(api.store, "load"), {
      users: 1000,
      stock: 250,
      holdMs: 2000,
      rows: () => ledgerHolds(cluster.schema, "load"),
      diagnostic: (m) => t.diagnostic(m),
    });
  });

  test(`${mode}: Redis lost with holds live: rebuilt from the ledger, held holds still confirmable, the rest expire on time`, {
    skip: skipMode,
    timeout: 180_000,
  }, async (t) => {
    const cluster = await startCluster(t, { apis: 0, workers: 2, env: await envOf(t) });
    const api = await apiStore(t, cluster);
    // Kafka mode's rebuild first waits until the topic is consumed past every produce that may be in
    // flight (the delivery bound, about 15 s by default): 503s until then, so longer holds.
    await api.create(campaign("loss", 100, mode === "kafka" ? 25 : 5));
    const driver = storeDriver(api.store, "loss");
    const claims = await pool(
      Array.from({ length: 100 }, (_, i) => `user-${i}`),
      50,
      (u) => driver.claim(u),
    );
    assert.ok(claims.every((c) => c.status === 202));
    const fate = (i: number) => (i < 30 ? "confirm" : i < 50 ? "release" : i < 75 ? "later" : "expire");
    await pool(
      claims.filter((_, i) => fate(i) === "confirm" || fate(i) === "release"),
      50,
      async (c) => {
        const i = claims.indexOf(c);
        const answer = await (fate(i) === "confirm"
          ? driver.confirm(c.claimId!)
          : driver.release(c.claimId!));
        assert.equal(answer.status, 200);
      },
    );
    // Everything decided so far is in the ledger before Redis goes.
    await eventually(
      async () => {
        const rows = await ledgerHolds(cluster.schema, "loss");
        return rows.length === 100 && rows.filter((r) => r.status !== "held").length === 50;
      },
      20_000,
      "the first decisions in the ledger",
    );
    await deleteKeys(REDIS_URL, `${cluster.prefix}:*`);
    const lostAt = Date.now();
    // The rest confirm after the loss (the workers' loss monitor, or the confirm itself, rebuilds first).
    const later = await pool(
      claims.filter((_, i) => fate(i) === "later"),
      25,
      (c) => driver.confirm(c.claimId!),
    );
    for (const answer of later) assert.deepEqual([answer.status, answer.claimStatus], [200, "issued"]);
    const lastExpiry = Math.max(...claims.map((c) => c.expiresAt!));
    await sleep(Math.max(0, lastExpiry - Date.now()) + 1000);
    await eventually(
      async () => {
        const rows = await ledgerHolds(cluster.schema, "loss");
        return rows.every((r) => r.status !== "held");
      },
      30_000,
      "every hold decided in the ledger",
    );
    const rows = new Map((await ledgerHolds(cluster.schema, "loss")).map((r) => [r.claimId, r]));
    let late = 0;
    claims.forEach((c, i) => {
      const row = rows.get(c.claimId!)!;
      const expected = { confirm: "issued", later: "issued", release: "released", expire: "expired" }[
        fate(i)
      ];
      assert.equal(row.status, expected, `${fate(i)}: ${c.claimId}`);
      if (fate(i) === "expire") late = Math.max(late, row.endedAt! - row.expiresAt!);
    });
    t.diagnostic(
      `Redis lost ${lastExpiry - lostAt} ms before the last expiry; the latest expiry ${late} ms late`,
    );
    assert.ok(late < 1000, `expiries on time after the rebuild (${late} ms late)`);
    const issued = [...rows.values()].filter((r) => r.status === "issued");
    assert.equal(issued.length, 55);
    assert.equal(new Set(issued.map((r) => r.unit)).size, 55, "no unit issued twice");
    assert.deepEqual(await api.store.counters("loss"), { admitted: 55, issued: 55, held: 0 });
  });

  test(`${mode}: kill -9 of every worker while holds are live and expiring: expiries on time after the restart`, {
    skip: skipMode,
    timeout: 180_000,
  }, async (t) => {
    const cluster = await startCluster(t, { apis: 0, workers: 2, env: await envOf(t) });
    const api = await apiStore(t, cluster);
    await api.create(campaign("kills", 300, 3));
    await holdsThroughKills(storeDriver(api.store, "kills"), {
      holds: 300,
      holdMs: 3000,
      chaosAfterMs: 2500,
      async chaos() {
        await Promise.all(cluster.workers.splice(0).map((w) => w.stop("SIGKILL")));
        await sleep(1500);
        await Promise.all([cluster.startWorker(), cluster.startWorker()]);
        return { backAt: Date.now() };
      },
      rows: () => ledgerHolds(cluster.schema, "kills"),
      diagnostic: (m) => t.diagnostic(m),
    });
  });
}

test("redis: confirms in the last 50 ms before and after expiresAt: each hold ends issued xor expired", {
  skip,
  timeout: 120_000,
}, async (t) => {
  const cluster = await startCluster(t, { apis: 0, workers: 2, env: { QUEUE: "redis" } });
  const api = await apiStore(t, cluster);
  await api.create(campaign("race", 300, 2));
  await holdsRace(storeDriver(api.store, "race"), {
    holds: 300,
    rows: () => ledgerHolds(cluster.schema, "race"),
    diagnostic: (m) => t.diagnostic(m),
  });
});
