import { type Config, loadConfig } from "../../config/config.ts";
import type { TaskRetention } from "../../ports/task-store.ts";
import type { BackoffOptions } from "../../workers/backoff.ts";

/** The TASK_* settings (src/config/table/background.ts), in the shape the task parts take them. */
export interface TaskSettings {
  modules: string[];
  concurrency: number;
  maxAttempts: number;
  backoff: BackoffOptions;
  timeoutMs: number;
  leaseMs: number;
  retention: TaskRetention;
}

/** The settings with every TASK_* at its default (tests, and runtimes given no settings). */
export function defaultTaskSettings(): TaskSettings {
  return taskSettings(loadConfig({}));
}

export function taskSettings(config: Config): TaskSettings {
  return {
    modules: config.TASK_MODULES,
    concurrency: config.TASK_CONCURRENCY,
    maxAttempts: config.TASK_MAX_ATTEMPTS,
    backoff: { baseMs: config.TASK_BACKOFF_MS, maxMs: config.TASK_BACKOFF_MAX_MS },
    timeoutMs: config.TASK_TIMEOUT_MS,
    leaseMs: config.TASK_LEASE_MS,
    retention: { ttlMs: config.TASK_TTL_S * 1000, deadLetterTtlMs: config.TASK_DEAD_LETTER_TTL_S * 1000 },
  };
}
