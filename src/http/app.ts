import { randomUUID } from "node:crypto";
import Fastify, { type FastifyInstance, type FastifyServerOptions, LogController } from "fastify";
import type { HubOptions } from "../ops/dashboard/hub.ts";
import { registerDashboardRoutes } from "../ops/dashboard/routes.ts";
import type { Metrics } from "../ops/metrics/metrics.ts";
import { observeRequests, registerMetricsRoutes } from "../ops/metrics/routes.ts";
import type { StatsInputs } from "../ops/stats/collect.ts";
import { registerStatsRoutes } from "../ops/stats/routes.ts";
import type { QueueLag } from "../ports/queue.ts";
import type { Readiness } from "../ports/readiness.ts";
import type { StatsSource } from "../ports/stats.ts";
import type { Services } from "../services/index.ts";
import { type Access, adminCheck, adminGuard, userAuth } from "./plugins/auth.ts";
import { clientErrorHandler, frameworkErrors } from "./plugins/client-errors.ts";
import { registerCors } from "./plugins/cors.ts";
import { collectRoutes, installErrorHandling } from "./plugins/errors.ts";
import { trackInFlight } from "./plugins/in-flight.ts";
import { registerOpenApi } from "./plugins/openapi.ts";
import { type OverloadOptions, registerOverloadGuard } from "./plugins/overload.ts";
import { installDeadline } from "./plugins/request-timeout.ts";
import {
  DEFAULT_EVENT_STREAM_LIMITS,
  type EventStreamLimits,
  limitEventStreams,
} from "./plugins/sse-limits.ts";
import { registerCampaignRoutes } from "./routes/campaigns.ts";
import { registerClaimRoutes } from "./routes/claims.ts";
import { registerDeliveryRoutes } from "./routes/deliveries.ts";
import { registerExportRoutes } from "./routes/export.ts";
import { registerHealthRoutes } from "./routes/health.ts";
import { registerLifecycleRoutes } from "./routes/lifecycle.ts";
import { registerTaskRoutes } from "./routes/tasks.ts";
import { registerWaitingRoomRoutes } from "./routes/waiting-room.ts";

/** What operators read from this process: readiness, metrics, stats. */
export interface AppOps {
  readiness: Readiness;
  /** True from the moment a graceful shutdown begins. */
  isShuttingDown?: (() => boolean) | undefined;
  /** This process's metrics registry (its adapters and worker report into it too). */
  metrics: Metrics;
  /** "embedded", "api", ...: shown by /v1/admin/stats. */
  mode?: string | undefined;
  /** Queue lag per partition or stream, for /metrics, /v1/admin/stats and the dashboard. */
  queueLag?: (() => Promise<QueueLag[]>) | undefined;
  /** Mode- and adapter-specific sections of /v1/admin/stats (ledger counts, Redis memory, ...). */
  stats?: StatsSource[] | undefined;
}

/** What a runtime hands the HTTP API, whatever the mode. */
export interface ApiParts {
  services: Services;
  ops: AppOps;
  access: Access;
}

/** How the HTTP edge behaves (the CLI takes them from the settings, src/cli/http-options.ts). */
export interface AppOptions {
  logger?: FastifyServerOptions["loggerInstance"];
  /** TRUST_PROXY: whose X-Forwarded-For gives the client address (off by default). */
  trustProxy?: boolean | number | string;
  /** MAX_HEADER_BYTES: the largest request head Node's parser accepts. */
  maxHeaderBytes?: number;
  /** OVERLOAD_*: when to shed load with 503; off when absent. */
  overload?: OverloadOptions;
  /** CORS_ORIGINS; none by default. */
  corsOrigins?: string[] | undefined;
  /** REQUEST_TIMEOUT_MS: every request is answered within this, 503 when a dependency kept it waiting (5 s by default). */
  requestTimeoutMs?: number | undefined;
  /** EXPORT_CSV_NEUTRALISE: CSV exports defuse spreadsheet formulas unless the request says otherwise (default true). */
  exportCsvNeutralise?: boolean | undefined;
  /** SSE_MAX_PER_CLIENT / SSE_MAX_TOTAL: event streams open at once (20 per client address, 10,000 in all by default). */
  eventStreams?: EventStreamLimits | undefined;
  /** METRICS_TOKEN: /metrics needs this bearer token; open when absent. */
  metricsToken?: string | undefined;
  /** METRICS_CAMPAIGN_LABELS: queue lag keeps one series per campaign's stream (off: summed per group). */
  metricsCampaignLabels?: boolean | undefined;
  /** Milliseconds between SSE heartbeat comments (15 s by contract; tests shorten it). */
  sseHeartbeatMs?: number;
  /** Dashboard stream timing (tests shorten it). */
  dashboard?: HubOptions;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Builds the HTTP API for any mode: the routes parse, authorise, call a
 * service and present its answer. Tests call this and use inject(); the CLI
 * calls it and listens.
 */
export async function buildApp(parts: ApiParts, options: AppOptions = {}): Promise<FastifyInstance> {
  const { services, ops, access } = parts;
  const { metrics } = ops;
  metrics.setQueueLagSource(ops.queueLag, { campaignLabels: options.metricsCampaignLabels });
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
    // lifecycle hooks (src/http/plugins/in-flight.ts) answer it instead.
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
  await registerCors(app, options.corsOrigins);
  await registerOverloadGuard(app, options.overload);

  // Before any route: every handler registered from here on gets the deadline, every event stream the caps.
  installDeadline(app, options.requestTimeoutMs ?? 5000);
  limitEventStreams(app, options.eventStreams ?? DEFAULT_EVENT_STREAM_LIMITS);
  const addMissingMethods = collectRoutes(app);
  const admin = adminGuard(access.adminToken);
  const sseHeartbeatMs = options.sseHeartbeatMs ?? 15_000;
  const stats = statsInputs(services, ops, sectionTimeoutMs(options.requestTimeoutMs ?? 5000));
  registerHealthRoutes(app, ops, adminCheck(access.adminToken));
  registerCampaignRoutes(app, services.campaigns, admin);
  const auth = userAuth(access, admin);
  registerClaimRoutes(app, services.claims, { auth, sseHeartbeatMs });
  if (services.waitingRoom) registerWaitingRoomRoutes(app, services.waitingRoom, { auth, sseHeartbeatMs });
  if (services.tasks) registerTaskRoutes(app, services.tasks, { admin, sseHeartbeatMs });
  registerMetricsRoutes(app, metrics, { token: options.metricsToken });
  registerStatsRoutes(app, stats, admin);
  registerDashboardRoutes(app, stats, metrics, admin, options.dashboard);
  registerLifecycleRoutes(app, services, admin);
  registerDeliveryRoutes(app, services.deliveries, admin);
  registerExportRoutes(app, services.exports, admin, { neutraliseCsv: options.exportCsvNeutralise });
  addMissingMethods();
  return app;
}

/** What /v1/admin/stats and the dashboard read: campaign counters from the campaign service, the rest from ops. */
function statsInputs(services: Services, ops: AppOps, timeoutMs: number): StatsInputs {
  return {
    mode: ops.mode,
    sectionTimeoutMs: timeoutMs,
    queueLag: ops.queueLag,
    sections: ops.stats,
    async campaigns(limit) {
      const { campaigns, total } = await services.campaigns.newest(limit);
      const lines = await Promise.all(
        campaigns.map(({ campaign }) => services.waitingRoom?.line(campaign).catch(() => undefined)),
      );
      return {
        campaigns: campaigns.map(({ campaign, counts }, i) => ({
          id: campaign.id,
          name: campaign.name,
          stock: campaign.stock,
          ...counts,
          ...(campaign.holdSeconds ? { holdSeconds: campaign.holdSeconds } : {}),
          ...(lines[i] ? { line: lines[i] } : {}),
        })),
        total,
      };
    },
  };
}

/** A stats section gets most of the request's time: a silent one then reads `{error}` in an answer that still comes. */
const sectionTimeoutMs = (requestTimeoutMs: number) => Math.floor(requestTimeoutMs * 0.8);

/** Fastify takes a hop count as a function of the hop (its types do not list numbers). */
function trustProxy(
  setting: AppOptions["trustProxy"],
): boolean | string | ((address: string, hop: number) => boolean) {
  if (typeof setting !== "number") return setting ?? false;
  return (_address, hop) => hop < setting;
}
