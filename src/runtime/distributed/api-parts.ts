/** The parts the HTTP API of a distributed process is built from, over what ./shared.ts opened. */
import { userTokensOf } from "../../adapters/jwt/user-tokens.ts";
import { redisMemorySource } from "../../adapters/redis/index.ts";
import type { DistributedRole } from "../../config/commands.ts";
import type { Claim } from "../../domain/types.ts";
import { userHashKey } from "../../domain/user-hash.ts";
import type { ApiParts, AppOps } from "../../http/app.ts";
import { instrumentPorts } from "../../ops/metrics/instrument.ts";
import { ledgerCountsSource } from "../../ops/stats/ledger-counts.ts";
import type { Queue, QueueLag } from "../../ports/queue.ts";
import { createServices } from "../../services/index.ts";
import { replicated, type Shared } from "./shared.ts";

/** What the HTTP API (or a worker's health face) is built from. */
export function apiParts(
  shared: Shared,
  parts: {
    mode: DistributedRole;
    readiness: AppOps["readiness"];
    isShuttingDown: () => boolean;
    claimsQueue: Pick<Queue<Claim>, "lag">;
  },
): ApiParts {
  const { config, kafka, ledger, metrics } = shared;
  // REDIS_WAIT_REPLICAS: an answer naming a pending claim (or a hold's decision) waits for Redis
  // replicas (then, Kafka mode, for Kafka).
  const admission = replicated(shared);
  const services = createServices(
    instrumentPorts(
      {
        // Kafka mode: a 202 waits for Kafka's acknowledgement.
        admission: kafka ? kafka.admission(admission) : admission,
        ledger,
        notifier: shared.notifier,
        lifecycle: ledger.lifecycle,
        deliveries: ledger.deliveries,
        tasks: shared.tasks.service,
        waitingRoom: shared.waitingRoom,
      },
      metrics,
    ),
    {
      userHashKey: userHashKey(config.ADMIN_TOKEN),
      requestTimeoutMs: config.REQUEST_TIMEOUT_MS,
      webhookAllowPrivate: config.WEBHOOK_ALLOW_PRIVATE,
      holdMinSeconds: config.HOLD_MIN_SECONDS,
    },
  );
  return {
    services,
    access: {
      adminToken: config.ADMIN_TOKEN,
      userTokens: userTokensOf(config),
    },
    ops: {
      readiness: parts.readiness,
      isShuttingDown: parts.isShuttingDown,
      metrics,
      mode: parts.mode,
      queueLag: lagOf([parts.claimsQueue, shared.taskQueue]),
      stats: [ledgerCountsSource(ledger), redisMemorySource(shared.redis, `${config.REDIS_PREFIX}:`)],
    },
  };
}

function lagOf(queues: Pick<Queue<unknown>, "lag">[]): () => Promise<QueueLag[]> {
  return async () => (await Promise.all(queues.map((q) => q.lag()))).flat();
}
