/**
 * The embedded mode's task pipeline: a second journal-backed queue
 * (DATA_DIR/tasks-journal, so a slow task never delays a claim), the SQLite
 * task store (DATA_DIR/tasks.sqlite) and a TaskWorker, all in this process.
 */

import { join } from "node:path";
import type { Logger } from "pino";
import { EmbeddedQueue } from "../adapters/journal/embedded-queue.ts";
import type { JournalOptions } from "../adapters/journal/journal.ts";
import { SqliteTaskStore } from "../adapters/sqlite/tasks/sqlite-task-store.ts";
import type { TaskMessage } from "../ports/task-store.ts";
import type { TaskRegistry } from "../services/tasks/registry.ts";
import { defaultTaskSettings, type TaskSettings } from "../services/tasks/settings.ts";
import type { TaskService } from "../services/tasks/task-service.ts";
import type { TaskOutcomeEvent } from "../workers/task-worker.ts";
import type { Resources } from "./resources.ts";
import { openTaskPipeline } from "./task-pipeline.ts";

export interface EmbeddedTaskOptions {
  /** Default: every TASK_* setting at its default. */
  settings?: TaskSettings;
  /** Default: the process's registry (built-in tasks plus TASK_MODULES). */
  registry?: TaskRegistry;
  sweepIntervalMs?: number;
  onOutcome?: (event: TaskOutcomeEvent) => void;
  now?: () => number;
}

export interface EmbeddedTasks {
  service: TaskService;
  store: SqliteTaskStore;
  queue: EmbeddedQueue<TaskMessage>;
  ping(): Promise<void>;
}

/** Opens the pipeline; `resources` closes it (the worker first: running attempts are handed back). */
export async function openEmbeddedTasks(
  options: EmbeddedTaskOptions & { dataDir: string; logger: Logger; journal: JournalOptions },
  resources: Resources,
): Promise<EmbeddedTasks> {
  const settings = options.settings ?? defaultTaskSettings();
  // Opening the store voids the leases of attempts that died with the last process.
  const store = resources.add(
    "task store",
    new SqliteTaskStore({ dataDir: options.dataDir, retention: settings.retention, now: options.now }),
    (s) => s.close(),
  );
  const { queue } = await EmbeddedQueue.open<TaskMessage>(
    join(options.dataDir, "tasks-journal"),
    "tasks",
    options.journal,
  );
  resources.add("tasks journal", queue, (q) => q.close());
  const pipeline = resources.add(
    "task worker",
    await openTaskPipeline({ ...options, queue, store, settings, runWorker: true }),
    (p) => p.stop(),
  );
  return {
    service: pipeline.service,
    store,
    queue,
    async ping() {
      await queue.ping();
      await store.ping();
    },
  };
}
