import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyRequest } from "fastify";
import { StampedeError } from "../domain/errors.ts";

const digest = (value: string) => createHash("sha256").update(value).digest();

/**
 * Builds the admin check. Both sides are hashed first so the comparison takes
 * the same time whatever the length or content of the token presented.
 */
export type Guard = (request: FastifyRequest) => Promise<void>;

export function adminGuard(adminToken: string): Guard {
  const isAdmin = adminCheck(adminToken);
  return async (request) => {
    if (!isAdmin(request)) throw new StampedeError("unauthorized");
  };
}

/** True when the request carries the admin token (for routes that also take a user's token). */
export function adminCheck(adminToken: string): (request: FastifyRequest) => boolean {
  const expected = digest(adminToken);
  return (request) => {
    const token = bearer(request);
    return token !== undefined && timingSafeEqual(digest(token), expected);
  };
}

export function bearer(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== "string") return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}
