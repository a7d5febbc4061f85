import cors from "@fastify/cors";
import type { FastifyInstance } from "fastify";

/**
 * CORS_ORIGINS: browsers on these origins may call the API (a shop's pages
 * calling stampede directly). None by default: without the setting no CORS
 * header is ever sent and browsers keep cross-origin pages out.
 *
 * `*` allows any origin but then without credentials (browsers refuse both
 * together); a list of origins also allows credentials, so an EventSource
 * opened `withCredentials` can send the user-token cookie.
 */
export async function registerCors(
  app: FastifyInstance,
  origins: readonly string[] | undefined,
): Promise<void> {
  if (!origins || origins.length === 0) return;
  const any = origins.includes("*");
  await app.register(cors, {
    origin: any ? "*" : [...origins],
    credentials: !any,
    methods: ["GET", "HEAD", "POST"],
    allowedHeaders: ["authorization", "content-type", "idempotency-key", "x-request-id", "last-event-id"],
    // Clients need Retry-After to honour 429/503, and X-Request-Id to report problems.
    exposedHeaders: ["retry-after", "x-request-id"],
    maxAge: 600,
    // A malformed preflight would get a text/plain 400 otherwise; answer it
    // like any other (it simply carries no permission).
    strictPreflight: false,
  });
}
