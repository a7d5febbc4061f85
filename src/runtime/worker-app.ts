import Fastify, { type FastifyInstance, type FastifyServerOptions, LogController } from "fastify";
import type { ApiDeps } from "../api/deps.ts";
import { installErrorHandling } from "../api/errors.ts";
import { registerHealthRoutes } from "../api/routes/health.ts";
import { errorSchema } from "../api/schemas.ts";

/**
 * The HTTP face of a worker process: /healthz and /readyz only (the claim
 * API is served by `stampede api`), so an orchestrator can probe workers too.
 */
export async function buildWorkerApp(
  deps: Pick<ApiDeps, "readiness" | "isShuttingDown">,
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
  registerHealthRoutes(app, deps);
  return app;
}
