import { randomUUID } from "node:crypto";
import Fastify, { type FastifyInstance, type FastifyServerOptions, LogController } from "fastify";
import type { HubOptions } from "../ops/dashboard/hub.ts";
import { registerDashboardRoutes } from "../ops/dashboard/routes.ts";
import { instrumentDeps } from "../ops/metrics/instrument.ts";
import { Metrics } from "../ops/metrics/metrics.ts";
import { observeRequests, registerMetricsRoutes } from "../ops/metrics/routes.ts";
import { registerStatsRoutes } from "../ops/stats/routes.ts";
import { adminGuard } from "./auth.ts";
import { clientErrorHandler, frameworkErrors } from "./client-errors.ts";
import { registerCors } from "./cors.ts";
import type { ApiDeps } from "./deps.ts";
import { collectRoutes, installErrorHandling } from "./errors.ts";
import { trackInFlight } from "./in-flight.ts";
import { registerOpenApi } from "./openapi.ts";
import { type OverloadOptions, registerOverloadGuard } from "./overload.ts";
import { registerCampaignRoutes } from "./routes/campaigns.ts";
import { registerClaimRoutes } from "./routes/claims.ts";
import { registerDeliveryRoutes } from "./routes/delivery.ts";
import { registerExportRoutes } from "./routes/export.ts";
import { registerHealthRoutes } from "./routes/health.ts";
import { registerLifecycleRoutes } from "./routes/lifecycle.ts";
import { registerTaskRoutes } from "./routes/tasks.ts";

export interface AppOptions {
  logger?: FastifyServerOptions["loggerInstance"];
  /** TRUST_PROXY: whose X-Forwarded-For gives the client address (off by default). */
  trustProxy?: boolean | number | string;
  /** MAX_HEADER_BYTES: the largest request head Node's parser accepts. */
  maxHeaderBytes?: number;
  /** OVERLOAD_*: when to shed load with 503; off when absent. */
  overload?: OverloadOptions;
  /** Dashboard stream timing (tests shorten it). */
  dashboard?: HubOptions;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Builds the HTTP API for any mode: everything mode-specific arrives in
 * `deps`. Tests call this and use inject(); the CLI calls it and listens.
 */
export async function buildApp(given: ApiDeps, options: AppOptions = {}): Promise<FastifyInstance> {
  const metrics = given.metrics ?? new Metrics();
  const deps = instrumentDeps(given, metrics);
  metrics.setQueueLagSource(deps.queueLag);
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
    // Fastify's own 503 while closing has not the contract's error shape: the
    // lifecycle hooks (src/http/in-flight.ts) answer it instead.
    return503OnClosing: false,
    forceCloseConnections: "idle",
    trustProxy: trustProxy(options.trustProxy),
    http: { maxHeaderSize: options.maxHeaderBytes ?? 16 * 1024 },
    // A client that trickles its request (slowloris) is cut after this; the
    // response side (SSE streams) is not bounded by it.
    requestTimeout: 30_000,
    clientErrorHandler,
    frameworkErrors,
  });

  app.addHook("onRequest", async (request, reply) => {
    reply.header("x-request-id", request.id);
  });

  // The contract speaks JSON only: a text/plain body is a 415, not a string.
  app.removeContentTypeParser("text/plain");
  installErrorHandling(app);
  trackInFlight(app);
  observeRequests(app, metrics);
  await registerOpenApi(app);
  // Before any route: CORS headers go on every answer (503s included), and
  // shedding runs before the routes' own hooks.
  await registerCors(app, deps.corsOrigins);
  await registerOverloadGuard(app, options.overload);

  const addMissingMethods = collectRoutes(app);
  const admin = adminGuard(deps.adminToken);
  registerHealthRoutes(app, deps);
  registerCampaignRoutes(app, deps, admin);
  registerClaimRoutes(app, deps, admin);
  if (deps.tasks) registerTaskRoutes(app, deps, deps.tasks, admin);
  registerMetricsRoutes(app, metrics);
  registerStatsRoutes(app, deps, admin);
  registerDashboardRoutes(app, deps, metrics, admin, options.dashboard);
  registerLifecycleRoutes(app, deps, admin);
  registerDeliveryRoutes(app, deps, admin);
  registerExportRoutes(app, deps, admin);
  addMissingMethods();
  return app;
}

/** Fastify takes a hop count as a function of the hop (its types do not list numbers). */
function trustProxy(
  setting: AppOptions["trustProxy"],
): boolean | string | ((address: string, hop: number) => boolean) {
  if (typeof setting !== "number") return setting ?? false;
  return (_address, hop) => hop < setting;
}
