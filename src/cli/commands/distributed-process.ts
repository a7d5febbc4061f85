import cluster from "node:cluster";
import { type DistributedConfig, type DistributedRole, distributedConfig } from "../../config/commands.ts";
import { userHashKey } from "../../domain/user-hash.ts";
import { buildApp } from "../../http/app.ts";
import { openDistributedApi } from "../../runtime/distributed/api.ts";
import { openDistributedWorker } from "../../runtime/distributed/worker.ts";
import { buildWorkerApp } from "../../runtime/worker-app.ts";
import { ClusterMetrics, clusterChild } from "../cluster/child.ts";
import { runPrimary } from "../cluster/primary.ts";
import { httpOptions } from "../http-options.ts";
import { createLogger } from "../logger.ts";
import { serve } from "../serve.ts";
import { reportStart } from "../start-report.ts";
import { opening } from "./opening.ts";

/**
 * `stampede api` and `stampede worker`: one process of distributed mode, or
 * with PROCESSES above 1 a primary that runs that many (../cluster/).
 */
export async function runDistributed(role: DistributedRole, argv: string[]): Promise<number> {
  const config = distributedConfig(role, process.env, argv);
  // userIds in logs are hashed with a key derived from the admin token, the same in every process.
  const logger = createLogger(config.LOG_LEVEL, "stampede", undefined, userHashKey(config.ADMIN_TOKEN));
  if (config.PROCESSES > 1 && cluster.isPrimary)
    return runPrimary({
      role,
      processes: config.PROCESSES,
      host: config.HOST,
      port: config.PORT,
      argv,
      shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
      logger,
    });
  const child = clusterChild();
  // A child's /metrics sums every child's (../cluster/child.ts).
  const overrides = child ? { metrics: new ClusterMetrics() } : {};
  const settings = child ? childConfig(config) : config;
  const runtime = await opening(
    logger,
    role === "api"
      ? openDistributedApi(settings, logger, overrides)
      : openDistributedWorker(settings, logger, overrides),
  );
  reportStart(runtime.startReport, logger, child?.first ?? true);
  const app =
    role === "api"
      ? await buildApp(runtime.api, { logger, ...httpOptions(config) })
      : await buildWorkerApp(runtime.api.ops, {
          logger,
          ...httpOptions(config),
          adminToken: runtime.api.access.adminToken,
        });
  return serve({ app, config, logger, mode: role, runtime, child });
}

/** Each child of --processes N gets an INSTANCE_ID of its own: consumer names and task leases are per process. */
function childConfig(config: DistributedConfig): DistributedConfig {
  const id = cluster.worker?.id;
  if (config.INSTANCE_ID === undefined || id === undefined) return config;
  return { ...config, INSTANCE_ID: `${config.INSTANCE_ID}-${id}` };
}
