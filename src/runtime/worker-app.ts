import Fastify, { type FastifyInstance, type FastifyServerOptions, LogController } from "fastify";
import type { AppOps } from "../http/app.ts";
import { installErrorHandling } from "../http/plugins/errors.ts";
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
  options: { logger?: FastifyServerOptions["loggerInstance"] } = {},
): Promise<FastifyInstance> {
  const app = Fastify({
    ...(options.logger ? { loggerInstance: options.logger } : { logger: false }),
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    forceCloseConnections: true,
  });
  app.addSchema(errorSchema);
  installErrorHandling(app);
  registerHealthRoutes(app, ops);
  ops.metrics.setQueueLagSource(ops.queueLag);
  observeRequests(app, ops.metrics);
  registerMetricsRoutes(app, ops.metrics);
  return app;
}
