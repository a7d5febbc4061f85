import { type Logger, pino } from "pino";
import { userHasher, userSerializers } from "../privacy/user-hash.ts";

/**
 * One JSON line per event on stdout; the admin token is never among the
 * fields, and userIds appear only hashed (privacy/user-hash.ts) with the given
 * key (a random one when absent: hashes then agree within this process only).
 */
export function createLogger(level: string, name = "stampede", userHashKey?: Buffer): Logger {
  return pino({
    name,
    level,
    redact: { paths: ["req.headers.authorization", "adminToken", "token"], censor: "[redacted]" },
    // Passing serializers replaces pino's defaults: keep its error serializer.
    serializers: { err: pino.stdSerializers.err, ...userSerializers(userHasher(userHashKey)) },
  });
}
