import { createHash, createHmac, randomBytes } from "node:crypto";
import type { LoggerOptions } from "pino";

/**
 * userIds never reach a log in clear: they are replaced by a keyed hash
 * ("u_" + 16 base64url characters of HMAC-SHA256), stable for one key, so log
 * lines of one user can still be followed without naming them. The key is
 * derived from the admin token (every process of a deployment shares it), so
 * the hashes agree across processes; an operator who holds the token can
 * compute a user's hash (`userHasher(userHashKey(token))(userId)`) to find
 * their lines, and nobody without it can test guesses against the logs.
 */
export type UserHasher = (userId: string) => string;

export function userHashKey(adminToken: string): Buffer {
  return createHash("sha256").update("stampede user hash v1\u0000").update(adminToken).digest();
}

export function userHasher(key: Buffer | string = randomBytes(32)): UserHasher {
  return (userId) => `u_${createHmac("sha256", key).update(userId).digest("base64url").slice(0, 16)}`;
}

type Loggable = Record<string, unknown>;

function withHashedUser(hash: UserHasher, value: unknown): unknown {
  if (typeof value !== "object" || value === null) return value;
  const record = value as Loggable;
  if (typeof record.userId !== "string") return value;
  return { ...record, userId: hash(record.userId) };
}

/**
 * pino serializers for the fields that can carry a userId: `userId`,
 * `userIds`, and `claim` / `claims` objects. Whoever logs a user logs it
 * under one of these names (test/domain/user-hash.test.ts checks them).
 */
export function userSerializers(hash: UserHasher): NonNullable<LoggerOptions["serializers"]> {
  return {
    userId: (v: unknown) => (typeof v === "string" ? hash(v) : v),
    userIds: (v: unknown) => (Array.isArray(v) ? v.map((u) => (typeof u === "string" ? hash(u) : u)) : v),
    claim: (v: unknown) => withHashedUser(hash, v),
    claims: (v: unknown) => (Array.isArray(v) ? v.map((c) => withHashedUser(hash, c)) : v),
  };
}
