import type { Logger } from "pino";
import type { Verdict } from "../ops/doctor/types.ts";

/** The verdicts that say what a 202 survives: printed at every start. */
const PROMISE = new Set(["promise", "kafka-replication"]);

/**
 * What the start checks found (src/runtime/start-checks.ts; a failure
 * refused the start instead): every verdict goes to the log; what a 202
 * survives is printed on stdout and each warning on stderr, one line each.
 * `once` is false in all but one child of --processes N: one report per host.
 */
export function reportStart(verdicts: readonly Verdict[], logger: Logger, once = true): void {
  if (!once) return;
  for (const v of verdicts) {
    const fields = { check: v.name, ...(v.fix ? { fix: v.fix } : {}) };
    if (v.status === "warn") {
      logger.warn(fields, v.message);
      process.stderr.write(`stampede: warning: ${v.message} (fix: ${v.fix})\n`);
    } else {
      logger.info(fields, v.message);
      if (PROMISE.has(v.name)) process.stdout.write(`stampede: ${v.message}\n`);
    }
  }
}
