import type { ApiParts } from "../http/app.ts";
import type { Verdict } from "../ops/doctor/types.ts";

/** What every composition root returns (embedded.ts, distributed/api.ts, distributed/worker.ts). */
export interface Runtime {
  /** What the HTTP API serves (buildApp); a worker's HTTP face reads only `api.ops`. */
  api: ApiParts;
  /** What the start checks found that did not refuse the start (start-checks.ts), for the CLI to print. */
  startReport: Verdict[];
  /** Marks the process as shutting down (readiness 503) at once. */
  beginShutdown(): void;
  /** Lets the worker issue what is queued until `untilMs` (epoch ms); resolves with what is left. */
  drain?(untilMs: number): Promise<number>;
  /** Stops what runs and closes what was opened, last opened first (resources.ts). */
  close(): Promise<void>;
}
