import { type DestinationStream, type Logger, pino } from "pino";
import { userHasher, userSerializers } from "../domain/user-hash.ts";

/**
 * Fields that hold a secret wherever they appear in a log line: the admin
 * token, user tokens (Authorization header, cookie) and the secrets in the
 * settings. test/cli/logger.test.ts checks that none of them reaches a log.
 */
export const LOG_REDACT = [
  "req.headers.authorization",
  "req.headers.cookie",
  "headers.authorization",
  "headers.cookie",
  "*.headers.authorization",
  "*.headers.cookie",
  "adminToken",
  "*.adminToken",
  "token",
  "*.token",
  "ADMIN_TOKEN",
  "USER_TOKEN_SECRET",
  "*.ADMIN_TOKEN",
  "*.USER_TOKEN_SECRET",
  "METRICS_TOKEN",
  "*.METRICS_TOKEN",
];

/**
 * One JSON line per event on stdout; the admin token is never among the
 * fields, and userIds appear only hashed (domain/user-hash.ts) with the given
 * key (a random one when absent: hashes then agree within this process only).
 */
export function createLogger(
  level: string,
  name = "stampede",
  destination?: DestinationStream,
  userHashKey?: Buffer,
): Logger {
  return pino(
    {
      name,
      level,
      redact: { paths: LOG_REDACT, censor: "[redacted]" },
      // Passing serializers replaces pino's defaults: keep its error serializer.
      serializers: { err: pino.stdSerializers.err, ...userSerializers(userHasher(userHashKey)) },
    },
    destination,
  );
}
