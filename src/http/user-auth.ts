import type { FastifyRequest } from "fastify";
import { StampedeError } from "../domain/errors.ts";
import { adminCheck, bearer, type Guard } from "./auth.ts";
import type { ApiDeps } from "./deps.ts";

/**
 * Signed user identity (USER_TOKEN_SECRET, SPEC "Identity and tokens"). When
 * the mode gives no `userTokens`, every check here lets the request through
 * and stampede trusts the userId it is given, as the contract says.
 *
 * Authentication (401) runs as an onRequest hook, before the body is even
 * read, so anonymous traffic costs little; the comparison of the token's
 * subject with the userId (403) runs once that userId is known and valid.
 */
export const USER_TOKEN_COOKIE = "stampede_token";

interface Caller {
  admin: boolean;
  subject: string | undefined;
}

export interface UserAuth {
  /** POST claims: 401 without a valid user token. */
  requireUser: Guard;
  /** 403 unless the token is this user's. */
  assertUser(request: FastifyRequest, userId: string): void;
  /** Reads of a claim: 401 without the admin token or a valid user token. */
  requireReader: Guard;
  /** The same for SSE, which may carry the token in the `stampede_token` cookie. */
  requireReaderOrCookie: Guard;
  /** 403 unless the caller is the admin or this claim's user. */
  assertReader(request: FastifyRequest, userId: string): void;
  /** GET /v1/campaigns/:id/users/:userId/claims: the admin, or that user's token. */
  adminOrUser: Guard;
}

export function userAuth(deps: ApiDeps, admin: Guard): UserAuth {
  const tokens = deps.userTokens;
  const pass: Guard = async () => undefined;
  if (!tokens)
    return {
      requireUser: pass,
      assertUser: () => undefined,
      requireReader: pass,
      requireReaderOrCookie: pass,
      assertReader: () => undefined,
      adminOrUser: admin,
    };

  const isAdmin = adminCheck(deps.adminToken);
  const callers = new WeakMap<FastifyRequest, Caller>();

  const authenticate = async (token: string | undefined): Promise<Caller> => {
    if (token === undefined)
      throw new StampedeError("unauthorized", "A user token is required: Authorization: Bearer <JWT>.");
    try {
      return { admin: false, subject: await tokens.subject(token) };
    } catch (error) {
      throw new StampedeError("unauthorized", (error as Error).message);
    }
  };

  const reader =
    (fromCookie: boolean): Guard =>
    async (request) => {
      if (isAdmin(request)) {
        callers.set(request, { admin: true, subject: undefined });
        return;
      }
      const token = bearer(request) ?? (fromCookie ? cookie(request, USER_TOKEN_COOKIE) : undefined);
      callers.set(request, await authenticate(token));
    };

  const assertSubject = (request: FastifyRequest, userId: string, adminMay: boolean) => {
    const caller = callers.get(request);
    if (caller?.admin && adminMay) return;
    if (caller?.subject !== userId)
      throw new StampedeError("forbidden", "This token speaks for another user.");
  };

  return {
    requireUser: async (request) => {
      callers.set(request, await authenticate(bearer(request)));
    },
    assertUser: (request, userId) => assertSubject(request, userId, false),
    requireReader: reader(false),
    requireReaderOrCookie: reader(true),
    assertReader: (request, userId) => assertSubject(request, userId, true),
    adminOrUser: async (request) => {
      await reader(false)(request);
      assertSubject(request, (request.params as { userId?: string }).userId ?? "", true);
    },
  };
}

/** One cookie's value from the Cookie header (no library: this is the only cookie read). */
export function cookie(request: FastifyRequest, name: string): string | undefined {
  const header = request.headers.cookie;
  if (typeof header !== "string") return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq === -1 || part.slice(0, eq).trim() !== name) continue;
    const value = part
      .slice(eq + 1)
      .trim()
      .replace(/^"(.*)"$/, "$1");
    return value === "" ? undefined : value;
  }
  return undefined;
}
