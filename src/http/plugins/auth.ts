import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyRequest } from "fastify";
import { StampedeError } from "../../domain/errors.ts";
import type { UserTokens } from "../../ports/user-tokens.ts";

/**
 * Who may call what (docs/api.md "Identity and tokens"): admin routes take the
 * ADMIN_TOKEN; with USER_TOKEN_SECRET set, claims and reads of claims take
 * the user's token. Without `userTokens`, every user check lets the request
 * through and stampede trusts the userId it is given, as the contract says.
 *
 * Authentication (401) runs as an onRequest hook, before the body is even
 * read, so anonymous traffic costs little; the comparison of the token's
 * subject with the userId (403) runs once that userId is known and valid.
 */
export interface Access {
  adminToken: string;
  /** When set, claims and reads of claims need the user's token. */
  userTokens?: UserTokens | undefined;
}

export type Guard = (request: FastifyRequest) => Promise<void>;

/** The cookie an EventSource (which cannot send headers) may carry the user's token in. */
export const USER_TOKEN_COOKIE = "stampede_token";

const digest = (value: string) => createHash("sha256").update(value).digest();

/**
 * True when the request carries the admin token. Both sides are hashed first
 * so the comparison takes the same time whatever the length or content of
 * the token presented.
 */
export function adminCheck(adminToken: string): (request: FastifyRequest) => boolean {
  const expected = digest(adminToken);
  return (request) => {
    const token = bearer(request);
    return token !== undefined && timingSafeEqual(digest(token), expected);
  };
}

/** The admin routes' onRequest hook: 401 without the admin token. */
export function adminGuard(adminToken: string): Guard {
  const isAdmin = adminCheck(adminToken);
  return async (request) => {
    if (!isAdmin(request)) throw new StampedeError("unauthorized");
  };
}

export function bearer(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== "string") return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
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
  /**
   * Holds' confirm and release: the admin, or (with user tokens) a valid
   * user token, whose subject assertReader() then compares with the claim's user.
   */
  adminOrAnyUser: Guard;
}

interface Caller {
  admin: boolean;
  subject: string | undefined;
}

export function userAuth(access: Access, admin: Guard): UserAuth {
  const tokens = access.userTokens;
  const pass: Guard = async () => undefined;
  if (!tokens)
    return {
      requireUser: pass,
      assertUser: () => undefined,
      requireReader: pass,
      requireReaderOrCookie: pass,
      assertReader: () => undefined,
      adminOrUser: admin,
      adminOrAnyUser: admin,
    };

  const isAdmin = adminCheck(access.adminToken);
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
    adminOrAnyUser: reader(false),
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
