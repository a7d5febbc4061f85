/**
 * `stampede api`: one API process of distributed mode. It admits claims in
 * Redis (and, with QUEUE=kafka, waits for Kafka's acknowledgement before a
 * 202), answers reads from Redis and PostgreSQL, and pushes issued claims to
 * waiting clients from Redis pub/sub. It consumes nothing: the claims and
 * tasks are the workers' (worker.ts). Any number of them run side by side.
 */

import type { Logger } from "pino";
import { isCluster, LossMonitor } from "../../adapters/redis/index.ts";
import { requireDistributed } from "../../config/commands.ts";
import type { Config } from "../../config/config.ts";
import { type Probe, readinessOf } from "../readiness.ts";
import { openWith } from "../resources.ts";
import type { Runtime } from "../runtime.ts";
import { checkKafkaTopicAtStart } from "../start-checks.ts";
import { apiParts } from "./api-parts.ts";
import { claimsStreams, type DistributedOverrides, openShared } from "./shared.ts";

export async function openDistributedApi(
  config: Config,
  logger: Logger,
  overrides: DistributedOverrides = {},
): Promise<Runtime> {
  const settings = requireDistributed(config);
  return openWith(logger, async (resources) => {
    const shared = await openShared(settings, logger, resources, overrides, {
      role: "api",
      ledgerPoolSize: 8,
      waitForPostgres: false,
      runsTasks: false,
      soldOutCacheMaxHolders: settings.SOLD_OUT_CACHE_MAX_HOLDERS,
    });
    const { redis, kafka } = shared;
    // A 202 waits for Kafka (acks=all): what it survives depends on the topic's replication.
    if (kafka) shared.startReport.push(...(await checkKafkaTopicAtStart(() => kafka.queue.describeTopic())));

    // On a Redis Cluster: a failover seen by this process is checked for lost state at once
    // (the workers check it too, and every LOSS_CHECK_MS).
    if (isCluster(redis))
      resources
        .add(
          "loss monitor",
          new LossMonitor({
            redis,
            keys: shared.keys,
            ledger: shared.ledger,
            rebuild: (campaignId) => shared.admission.rebuild(campaignId),
            logger,
            intervalMs: 0,
            retentionGraceMs: settings.REDIS_RETENTION_GRACE_S * 1000,
          }),
          (m) => m.stop(),
        )
        .start();

    // An API process needs Redis (and Kafka) to admit, not PostgreSQL.
    const probes: Probe[] = [{ name: "redis", probe: () => shared.admission.ping() }];
    if (kafka) probes.push({ name: "kafka", probe: () => kafka.queue.ping() });
    let shuttingDown = false;
    resources.defer("readiness", () => {
      shuttingDown = true;
    });
    return {
      api: apiParts(shared, {
        mode: "api",
        readiness: readinessOf(probes, settings.READINESS_TIMEOUT_MS),
        isShuttingDown: () => shuttingDown,
        // Read through a claims queue it never consumes from.
        claimsQueue: kafka ? kafka.queue : claimsStreams(shared, redis),
      }),
      startReport: shared.startReport,
      beginShutdown() {
        shuttingDown = true;
      },
      close: () => resources.close(),
    };
  });
}
