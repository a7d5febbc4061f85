/**
 * The dashboard: plain files from ./public, read once at start and served as
 * they are (no build step), and the admin event stream that feeds it.
 *
 * The stream needs the admin token, and EventSource cannot send headers; a
 * token in the URL would end up in proxy and access logs. So the page reads
 * the stream with fetch() and an Authorization header instead (public/common.js).
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Guard } from "../../http/plugins/auth.ts";
import { errorResponses } from "../../http/plugins/openapi.ts";
import { EventStream } from "../../http/plugins/sse.ts";
import type { Metrics } from "../metrics/metrics.ts";
import type { StatsInputs } from "../stats/collect.ts";
import { DashboardHub, type HubOptions } from "./hub.ts";

const PUBLIC_DIR = new URL("./public/", import.meta.url);

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".svg": "image/svg+xml",
};

/** Same-origin only: no inline script, no third party, not framed. */
const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

export function loadAssets(): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const name of readdirSync(PUBLIC_DIR)) {
    const type = TYPES[name.slice(name.lastIndexOf("."))];
    if (!type) continue;
    const body = readFileSync(new URL(name, PUBLIC_DIR));
    const etag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 16)}"`;
    assets.set(name, { body, type, etag });
  }
  return assets;
}

export function registerDashboardRoutes(
  app: FastifyInstance,
  stats: StatsInputs,
  metrics: Metrics,
  admin: Guard,
  hubOptions?: HubOptions,
): DashboardHub {
  const assets = loadAssets();
  const hub = new DashboardHub(stats, metrics, hubOptions);
  // Shutdown: end the dashboards' streams at once so they do not hold the server open.
  app.addHook("preClose", async () => hub.close());

  const serve = (name: string) => {
    const asset = assets.get(name);
    return async (request: FastifyRequest, reply: FastifyReply) => {
      if (!asset) return reply.callNotFound();
      reply.headers(SECURITY_HEADERS).header("etag", asset.etag).header("cache-control", "no-cache");
      if (request.headers["if-none-match"] === asset.etag) return reply.code(304).send();
      return reply.type(asset.type).send(asset.body);
    };
  };
  const page = { schema: { hide: true } };
  app.get("/", page, serve("index.html"));
  app.get("/claim", page, serve("claim.html"));
  app.get<{ Params: { file: string } }>("/dashboard/:file", page, (request, reply) =>
    serve(request.params.file)(request, reply),
  );

  app.get(
    "/v1/admin/stream",
    {
      onRequest: admin,
      schema: {
        summary: "The dashboard's live feed (admin, Server-Sent Events)",
        description:
          "`event: snapshot` every second (campaign counters, admissions per second, claim latency, queue " +
          "lag) and `event: stats` every 5 s (the body of /v1/admin/stats). Send the token in the " +
          "Authorization header (read the stream with fetch()), never in the URL.",
        tags: ["operations"],
        security: [{ admin: [] }],
        produces: ["text/event-stream"],
        response: {
          200: {
            description: "an event stream",
            content: { "text/event-stream": { schema: { type: "string" } } },
          },
          ...errorResponses("unauthorized", "unavailable"),
        },
      },
    },
    async (request, reply) => {
      const stream = EventStream.open(request, reply);
      await hub.add(stream).catch(() => stream.end());
    },
  );
  return hub;
}
