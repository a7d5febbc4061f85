import { type Logger, pino } from "pino";

/** One JSON line per event on stdout; the admin token is never among the fields. */
export function createLogger(level: string, name = "stampede"): Logger {
  return pino({
    name,
    level,
    redact: { paths: ["req.headers.authorization", "adminToken", "token"], censor: "[redacted]" },
  });
}
