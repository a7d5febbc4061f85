import Fastify, { type FastifyInstance, type FastifyServerOptions, LogController } from "fastify";
import type { AppOps, AppOptions } from "../http/app.ts";
import { adminCheck } from "../http/plugins/auth.ts";
import { installErrorHandling } from "../http/plugins/errors.ts";
import { installDeadline } from "../http/plugins/request-timeout.ts";
import { registerHealthRoutes } from "../http/routes/health.ts";
import { errorSchema } from "../http/schemas/contract.ts";
import { observeRequests, registerMetricsRoutes } from "../ops/metrics/routes.ts";

/**
 * The HTTP face of a worker process: /healthz, /readyz and /metrics only (the
 * claim API is served by `stampede api`), so an orchestrator can probe
 * workers and Prometheus can scrape their batches and queue lag.
 */
export async function buildWorkerApp(
  ops: Pick<AppOps, "readiness" | "isShuttingDown" | "metrics" | "queueLag">,
  options: Pick<AppOptions, "requestTimeoutMs" | "metricsToken" | "metricsCampaignLabels"> & {
    logger?: FastifyServerOptions["loggerInstance"];
    /** Shows /readyz's per-dependency details to its bearer. */
    adminToken: string;
  },
): Promise<FastifyInstance> {
  const app = Fastify({
    ...(options.logger ? { loggerInstance: options.logger } : { logger: false }),
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    forceCloseConnections: true,
  });
  app.addSchema(errorSchema);
  installErrorHandling(app);
  installDeadline(app, options.requestTimeoutMs ?? 5000);
  registerHealthRoutes(app, ops, adminCheck(options.adminToken));
  ops.metrics.setQueueLagSource(ops.queueLag, { campaignLabels: options.metricsCampaignLabels });
  observeRequests(app, ops.metrics);
  registerMetricsRoutes(app, ops.metrics, { token: options.metricsToken });
  return app;
}
