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
import { openTaskPipeline } from "./task-pipeline.ts";

/**
 * The embedded mode's task pipeline: a second journal-backed queue
 * (DATA_DIR/tasks-journal, so a slow task never delays a claim), the SQLite
 * task store (DATA_DIR/tasks.sqlite) and a TaskWorker, all in this process.
 */
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
  /** Stops the worker (running attempts are handed back), then closes the files. */
  close(): Promise<void>;
}

export async function openEmbeddedTasks(
  options: EmbeddedTaskOptions & { dataDir: string; logger: Logger; journal: JournalOptions },
): Promise<EmbeddedTasks> {
  const settings = options.settings ?? defaultTaskSettings();
  // Opening the store voids the leases of attempts that died with the last process.
  const store = new SqliteTaskStore({
    dataDir: options.dataDir,
    retention: settings.retention,
    now: options.now,
  });
  const { queue } = await EmbeddedQueue.open<TaskMessage>(
    join(options.dataDir, "tasks-journal"),
    "tasks",
    options.journal,
  );
  let pipeline: Awaited<ReturnType<typeof openTaskPipeline>>;
  try {
    pipeline = await openTaskPipeline({ ...options, queue, store, settings, runWorker: true });
  } catch (error) {
    await queue.close();
    await store.close();
    throw error;
  }
  return {
    service: pipeline.service,
    store,
    queue,
    async ping() {
      await queue.ping();
      await store.ping();
    },
    async close() {
      await pipeline.stop();
      await queue.close();
      await store.close();
    },
  };
}
