import { randomUUID } from "node:crypto";
import Fastify, { type FastifyInstance, type FastifyServerOptions, LogController } from "fastify";
import { adminGuard } from "./auth.ts";
import type { ApiDeps } from "./deps.ts";
import { collectRoutes, installErrorHandling } from "./errors.ts";
import { registerOpenApi } from "./openapi.ts";
import { registerCampaignRoutes } from "./routes/campaigns.ts";
import { registerClaimRoutes } from "./routes/claims.ts";
import { registerDeliveryRoutes } from "./routes/delivery.ts";
import { registerExportRoutes } from "./routes/export.ts";
import { registerHealthRoutes } from "./routes/health.ts";
import { registerLifecycleRoutes } from "./routes/lifecycle.ts";

export interface AppOptions {
  logger?: FastifyServerOptions["loggerInstance"];
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Builds the HTTP API for any mode: everything mode-specific arrives in
 * `deps`. Tests call this and use inject(); the CLI calls it and listens.
 */
export async function buildApp(deps: ApiDeps, options: AppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    ...(options.logger ? { loggerInstance: options.logger } : { logger: false }),
    // One info line per request would cost more than the admission itself.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 16 * 1024,
    routerOptions: { maxParamLength: 256 },
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers["x-request-id"];
      return typeof given === "string" && REQUEST_ID.test(given) ? given : randomUUID();
    },
    ajv: {
      // Reject what the contract does not name instead of silently dropping
      // it, and never coerce "5" into 5.
      customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: false },
    },
    return503OnClosing: true,
    forceCloseConnections: "idle",
  });

  app.addHook("onRequest", async (request, reply) => {
    reply.header("x-request-id", request.id);
  });

  // The contract speaks JSON only: a text/plain body is a 415, not a string.
  app.removeContentTypeParser("text/plain");
  installErrorHandling(app);
  await registerOpenApi(app);

  const addMissingMethods = collectRoutes(app);
  const admin = adminGuard(deps.adminToken);
  registerHealthRoutes(app, deps);
  registerCampaignRoutes(app, deps, admin);
  registerClaimRoutes(app, deps, admin);
  registerLifecycleRoutes(app, deps, admin);
  registerDeliveryRoutes(app, deps, admin);
  registerExportRoutes(app, deps, admin);
  addMissingMethods();
  return app;
}
