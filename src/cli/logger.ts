import { type DestinationStream, type Logger, pino } from "pino";

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
];

/** One JSON line per event on stdout; the admin token is never among the fields. */
export function createLogger(level: string, name = "stampede", destination?: DestinationStream): Logger {
  return pino({ name, level, redact: { paths: LOG_REDACT, censor: "[redacted]" } }, destination);
}
