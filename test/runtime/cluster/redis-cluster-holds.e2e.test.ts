import { after, test } from "node:test";
import { startCluster } from "../../helpers/distributed.ts";
import { holdsLoadTest, httpDriver, ledgerHolds } from "../../helpers/holds-load.ts";
import { kafkaEnv, skipWithoutKafka } from "../../helpers/kafka.ts";
import { startRedisCluster } from "../../helpers/redis-cluster.ts";
import type { ServerProcess } from "../../helpers/server-process.ts";
import { skipWithoutServices } from "../../helpers/services.ts";

/**
 * Holds on a Redis Cluster (3 masters, 3 replicas of this file's own) with
 * REDIS_WAIT_REPLICAS=1, through `stampede api` and `stampede worker`
 * processes: issue 16's load test (confirms and releases answered 200 only
 * once a replica holds them, expiries by the workers' reapers) with Redis
 * Streams, and with Kafka (the reaper forwards only what a replica holds).
 */
const skip = await skipWithoutServices();
const kafkaSkip = skip || (await skipWithoutKafka());
const redis = skip ? undefined : await startRedisCluster({ after });
const alive = (p: ServerProcess) => p.child.exitCode === null && p.child.signalCode === null;

for (const queue of ["redis", "kafka"] as const) {
  test(`Redis Cluster, REDIS_WAIT_REPLICAS=1, QUEUE=${queue}: 1,000 users, stock 250, 2 s holds: 60% confirm, 20% release, 20% expire, then a second wave`, {
    skip: queue === "kafka" ? kafkaSkip : skip,
    timeout: 180_000,
  }, async (t) => {
    const env = { HOLD_MIN_SECONDS: "1", REDIS_WAIT_REPLICAS: "1", REDIS_WAIT_TIMEOUT_MS: "1000" };
    const cluster = await startCluster(t, {
      apis: 2,
      workers: 2,
      redisUrl: redis!.url,
      env: queue === "kafka" ? await kafkaEnv(t, env) : env,
    });
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
}
