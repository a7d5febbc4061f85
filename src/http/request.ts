/** What routes read off a request beyond what its schema validates. */
import type { FastifyRequest } from "fastify";
import { StampedeError } from "../domain/errors.ts";
import type { Actor } from "../ports/lifecycle-ledger.ts";

/**
 * Who made an admin change. The admin token is shared and carries no
 * identity, so the caller may name itself in X-Actor (validated by the route
 * schema); it is recorded as declared, with the request id and the client
 * address that pin the request down in the API's and the proxy's logs.
 */
export function actorOf(request: FastifyRequest): Actor {
  const declared = request.headers["x-actor"];
  return {
    actor: typeof declared === "string" && declared !== "" ? declared : "admin",
    requestId: String(request.id),
    clientIp: request.ip,
  };
}

/** `?limit=` of a paged list: 1 to 1000, 100 when absent (the schema has checked it is digits). */
export function pageLimit(raw: string | undefined): number {
  const n = raw === undefined ? 100 : Number(raw);
  if (n < 1 || n > 1000) throw new StampedeError("invalid_request", "limit must be 1 to 1000.");
  return n;
}
