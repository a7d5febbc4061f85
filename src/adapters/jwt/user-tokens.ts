import { jwtVerify, SignJWT } from "jose";
import type { UserTokens } from "../../ports/user-tokens.ts";

/**
 * User tokens (USER_TOKEN_SECRET): a JWT signed with HMAC-SHA256 whose `sub`
 * is the userId, minted by the shop's backend for its logged-in user. Only
 * HS256 is accepted (never `none`, never an algorithm the token chooses), and
 * `exp` is required so that a leaked token stops working by itself.
 *
 * When the secret is shared with other services (or one shop mints tokens for
 * several), a token minted for one of them must not open the others:
 * USER_TOKEN_AUDIENCE and USER_TOKEN_ISSUER, when set, require `aud` to name
 * that audience and `iss` to be that issuer.
 */
export const USER_TOKEN_ALGORITHM = "HS256";
/** Clocks of the shop's backend and of stampede may disagree by this much. */
const CLOCK_TOLERANCE_S = 30;
/** Longer than any real JWT; refuses junk before it reaches the parser. */
const MAX_TOKEN_LENGTH = 4096;

export class UserTokenError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "UserTokenError";
  }
}

const keyOf = (secret: string) => new TextEncoder().encode(secret);

/** USER_TOKEN_AUDIENCE / USER_TOKEN_ISSUER: checked only when set. */
export interface UserTokenClaims {
  audience?: string | undefined;
  issuer?: string | undefined;
}

export function userTokenVerifier(secret: string, expected: UserTokenClaims = {}): UserTokens {
  const key = keyOf(secret);
  const required = ["sub", "exp"];
  if (expected.audience !== undefined) required.push("aud");
  if (expected.issuer !== undefined) required.push("iss");
  return {
    async subject(token: string): Promise<string> {
      if (token.length > MAX_TOKEN_LENGTH) throw new UserTokenError("The user token is too long.");
      try {
        const { payload } = await jwtVerify(token, key, {
          algorithms: [USER_TOKEN_ALGORITHM],
          requiredClaims: required,
          clockTolerance: CLOCK_TOLERANCE_S,
          ...(expected.audience === undefined ? {} : { audience: expected.audience }),
          ...(expected.issuer === undefined ? {} : { issuer: expected.issuer }),
        });
        if (typeof payload.sub !== "string" || payload.sub === "")
          throw new UserTokenError("The user token has no subject.");
        return payload.sub;
      } catch (error) {
        if (error instanceof UserTokenError) throw error;
        // jose's messages name the failed check (expired, signature, claim)
        // without echoing the token, so they are safe to show the client.
        throw new UserTokenError(`Invalid user token: ${(error as Error).message}`, { cause: error });
      }
    },
  };
}

/** Mints a user token as a shop's backend would (tests, the bench, the try-a-claim page). */
export async function mintUserToken(
  secret: string,
  userId: string,
  ttlSeconds = 3600,
  claims: UserTokenClaims = {},
): Promise<string> {
  const token = new SignJWT({})
    .setProtectedHeader({ alg: USER_TOKEN_ALGORITHM, typ: "JWT" })
    .setSubject(userId)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds);
  if (claims.audience !== undefined) token.setAudience(claims.audience);
  if (claims.issuer !== undefined) token.setIssuer(claims.issuer);
  return token.sign(keyOf(secret));
}

/** The user-token settings (USER_TOKEN_SECRET, USER_TOKEN_AUDIENCE, USER_TOKEN_ISSUER). */
export interface UserTokenSettings {
  USER_TOKEN_SECRET: string | undefined;
  USER_TOKEN_AUDIENCE: string | undefined;
  USER_TOKEN_ISSUER: string | undefined;
}

/** The verifier the settings ask for; undefined without USER_TOKEN_SECRET (claims need no token). */
export function userTokensOf(settings: UserTokenSettings): UserTokens | undefined {
  return settings.USER_TOKEN_SECRET === undefined
    ? undefined
    : userTokenVerifier(settings.USER_TOKEN_SECRET, {
        audience: settings.USER_TOKEN_AUDIENCE,
        issuer: settings.USER_TOKEN_ISSUER,
      });
}
