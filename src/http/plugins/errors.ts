/**
 * Every error leaves as the contract's shape. Fastify's own errors (bad JSON,
 * wrong content type, body too large, schema validation) are mapped to their
 * catalogue codes; anything unexpected is logged and answered 503, because the
 * contract allows no other 5xx.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { type ErrorCode, StampedeError } from "../../domain/errors.ts";

/** The one place a contract code becomes an HTTP status. */
export const HTTP_STATUS = {
  invalid_request: 400,
  unknown_task_type: 400,
  unauthorized: 401,
  forbidden: 403,
  campaign_not_active: 403,
  not_found: 404,
  campaign_not_found: 404,
  claim_not_found: 404,
  task_not_found: 404,
  ticket_not_found: 404,
  method_not_allowed: 405,
  campaign_exists: 409,
  already_claimed: 409,
  already_confirmed: 409,
  sold_out: 410,
  hold_expired: 410,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  unavailable: 503,
} as const satisfies Record<ErrorCode, number>;

/** Fastify's error codes that have a catalogue code of their own. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: "payload_too_large",
  FST_ERR_CTP_INVALID_MEDIA_TYPE: "unsupported_media_type",
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: "invalid_request",
  FST_ERR_CTP_EMPTY_JSON_BODY: "invalid_request",
  FST_ERR_CTP_INVALID_JSON_BODY: "invalid_request",
  FST_ERR_VALIDATION: "invalid_request",
  FST_ERR_BAD_URL: "invalid_request",
};

export function sendError(reply: FastifyReply, error: StampedeError): FastifyReply {
  if (error.retryAfter !== undefined) reply.header("retry-after", String(error.retryAfter));
  return reply.code(HTTP_STATUS[error.code]).type("application/json; charset=utf-8").send(error.body());
}

export function toStampedeError(error: FastifyError | Error, request: FastifyRequest): StampedeError {
  if (error instanceof StampedeError) return error;
  const fastifyError = error as FastifyError;
  if (fastifyError.validation) return new StampedeError("invalid_request", fastifyError.message);
  const mapped = fastifyError.code ? FASTIFY_CODES[fastifyError.code] : undefined;
  if (mapped) return new StampedeError(mapped, fastifyError.message);
  if (error instanceof SyntaxError)
    return new StampedeError("invalid_request", "The body is not valid JSON.");
  const status = fastifyError.statusCode ?? 500;
  if (status >= 400 && status < 500) return new StampedeError("invalid_request", fastifyError.message);
  request.log.error({ err: error }, "unexpected error; answered 503");
  return new StampedeError("unavailable", undefined, { retryAfter: 1 });
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) =>
    sendError(reply, toStampedeError(error, request)),
  );
  app.setNotFoundHandler((request, reply) =>
    sendError(
      reply,
      new StampedeError("not_found", `No route ${request.method} ${request.url.split("?")[0]}.`),
    ),
  );
}

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;

/**
 * Fastify answers an unknown method on a known path with 404; the contract
 * wants 405 with Allow. Call after every route is registered: it adds the
 * missing methods of each path as 405 routes.
 */
export function collectRoutes(app: FastifyInstance): () => void {
  const byPath = new Map<string, Set<string>>();
  app.addHook("onRoute", (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const known = byPath.get(route.url) ?? new Set<string>();
    for (const m of methods) known.add(m);
    byPath.set(route.url, known);
  });
  return () => {
    for (const [url, known] of byPath) {
      if (url.startsWith("/docs")) continue;
      const missing = METHODS.filter((m) => !known.has(m));
      if (missing.length === 0) continue;
      const allow = [...known].join(", ");
      app.route({
        method: missing,
        url,
        schema: { hide: true },
        handler: (request, reply) => {
          reply.header("allow", allow);
          return sendError(
            reply,
            new StampedeError("method_not_allowed", `${request.method} is not allowed here.`),
          );
        },
      });
    }
  };
}
