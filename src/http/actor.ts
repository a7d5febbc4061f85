import type { FastifyRequest } from "fastify";
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
