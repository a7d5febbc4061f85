import type { FastifyInstance, FastifyRequest } from "fastify";
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

/** GET /metrics: Prometheus text, no auth (restrict it at the network, see docs/operations.md). */
export function registerMetricsRoutes(app: FastifyInstance, metrics: Metrics): void {
  app.get(
    "/metrics",
    {
      schema: {
        summary: "Prometheus metrics (text exposition format)",
        description:
          "No authentication: expose it only to the scraper (firewall, private listener or reverse proxy; " +
          "see docs/operations.md).",
        tags: ["operations"],
        produces: ["text/plain"],
        response: {
          200: { description: "metrics", content: { "text/plain": { schema: { type: "string" } } } },
        },
      },
    },
    async (_request, reply) => {
      const text = await metrics.text();
      return reply.type(metrics.contentType).send(text);
    },
  );
}
