import type { FastifyInstance, FastifyRequest } from "fastify";
import { StampedeError } from "../../domain/errors.ts";
import { adminCheck } from "../../http/plugins/auth.ts";
import { errorResponses } from "../../http/plugins/openapi.ts";
import type { Metrics } from "./metrics.ts";

/** Route label of requests that matched no route: one label value, not one per URL. */
export const UNMATCHED = "(unmatched)";

/** Event-stream routes declare `produces: ["text/event-stream"]`; their duration is not a latency. */
export function isEventStream(routeOptions: FastifyRequest["routeOptions"]): boolean {
  const produces = (routeOptions.schema as { produces?: readonly string[] } | undefined)?.produces;
  return produces?.includes("text/event-stream") ?? false;
}

/** Records every answered request (install before the routes). */
export function observeRequests(app: FastifyInstance, metrics: Metrics): void {
  // Callback-style hook: no promise per request. routeOptions is built on each read: read it once.
  app.addHook("onResponse", (request, reply, done) => {
    const options = request.routeOptions;
    metrics.observeHttp(
      options.url ?? UNMATCHED,
      request.method,
      reply.statusCode,
      isEventStream(options) ? undefined : reply.elapsedTime / 1000,
    );
    done();
  });
}

/**
 * GET /metrics: Prometheus text. With METRICS_TOKEN set, only for
 * `Authorization: Bearer <METRICS_TOKEN>` (compared in constant time);
 * without, open (restrict it at the network, see docs/operations.md).
 */
export function registerMetricsRoutes(
  app: FastifyInstance,
  metrics: Metrics,
  options: { token?: string | undefined } = {},
): void {
  const { token } = options;
  const scraper = token === undefined ? undefined : adminCheck(token);
  app.get(
    "/metrics",
    {
      ...(scraper
        ? {
            onRequest: async (request: FastifyRequest) => {
              if (!scraper(request))
                throw new StampedeError("unauthorized", "The metrics token is required.");
            },
          }
        : {}),
      schema: {
        summary: "Prometheus metrics (text exposition format)",
        description:
          "With METRICS_TOKEN set, needs `Authorization: Bearer <METRICS_TOKEN>`; without, no authentication: " +
          "expose it only to the scraper (firewall, private listener or reverse proxy; see docs/operations.md).",
        tags: ["operations"],
        produces: ["text/plain"],
        ...(scraper ? { security: [{ metrics: [] }] } : {}),
        response: {
          200: { description: "metrics", content: { "text/plain": { schema: { type: "string" } } } },
          ...(scraper ? errorResponses("unauthorized") : {}),
        },
      },
    },
    async (_request, reply) => {
      const text = await metrics.text();
      return reply.type(metrics.contentType).send(text);
    },
  );
}
