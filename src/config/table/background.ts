/**
 * Work done off the request: webhook deliveries and tasks. Part of the
 * settings table (../config.ts).
 */
import { int, list, optionalStr, type Setting } from "../settings.ts";

export const BACKGROUND = {
  WEBHOOK_MAX_ATTEMPTS: {
    doc: "webhook deliveries tried this many times before they are dead-lettered",
    default: 12,
    parse: int(1, 100),
  },
  WEBHOOK_RETRY_BASE_MS: {
    doc: "first webhook retry delay; doubles per attempt (with jitter)",
    default: 1000,
    parse: int(1, 3_600_000),
  },
  WEBHOOK_RETRY_MAX_MS: {
    doc: "longest delay between webhook retries",
    default: 3_600_000,
    parse: int(1, 86_400_000),
  },
  WEBHOOK_TIMEOUT_MS: {
    doc: "a webhook request not answered 2xx within this is a failed attempt",
    default: 10_000,
    parse: int(100, 120_000),
  },
  WEBHOOK_CONCURRENCY: { doc: "webhook requests in flight per process", default: 16, parse: int(1, 1000) },
  INSTANCE_ID: {
    doc: "name of this process in logs and consumer groups (default: host-pid)",
    default: undefined,
    parse: optionalStr,
  },
  TASK_MODULES: {
    doc: "modules whose defineTask() calls register task handlers, comma-separated (docs/tasks.md)",
    default: [],
    parse: list,
  },
  TASK_CONCURRENCY: { doc: "tasks one worker process runs at once", default: 4, parse: int(1, 1000) },
  TASK_MAX_ATTEMPTS: {
    doc: "attempts a task gets (counted when its handler starts) before it is dead-lettered",
    default: 5,
    parse: int(1, 100),
  },
  TASK_BACKOFF_MS: {
    doc: "delay before a failed task's first retry; doubled for each further attempt",
    default: 1000,
    parse: int(0, 3_600_000),
  },
  TASK_BACKOFF_MAX_MS: {
    doc: "longest delay between two attempts",
    default: 300_000,
    parse: int(0, 86_400_000),
  },
  TASK_TIMEOUT_MS: {
    doc: "how long one attempt may run before it counts as failed",
    default: 300_000,
    parse: int(100, 86_400_000),
  },
  TASK_LEASE_MS: {
    doc: "a running attempt's lease, renewed while it runs; when its worker dies, the task runs again after this",
    default: 30_000,
    parse: int(300, 3_600_000),
  },
  TASK_TTL_S: {
    doc: "how long a succeeded task's status and result (and an Idempotency-Key) are kept",
    default: 86_400,
    parse: int(1, 31_536_000),
  },
  TASK_DEAD_LETTER_TTL_S: {
    doc: "how long a dead-lettered task is kept in the dead-letter list",
    default: 604_800,
    parse: int(1, 31_536_000),
  },
} satisfies Record<string, Setting<unknown>>;
