import { hostname } from "node:os";
import { join } from "node:path";
import type { Logger } from "pino";
import { EmbeddedQueue } from "../queue/embedded/embedded-queue.ts";
import type { JournalOptions } from "../queue/embedded/journal.ts";
import { BUILTIN_TASKS } from "../tasks/builtin.ts";
import { loadTaskModules } from "../tasks/modules.ts";
import { defaultRegistry, type TaskRegistry } from "../tasks/registry.ts";
import { TaskService } from "../tasks/service.ts";
import { defaultTaskSettings, type TaskSettings } from "../tasks/settings.ts";
import { SqliteTaskStore } from "../tasks/store/sqlite/sqlite-task-store.ts";
import type { TaskMessage } from "../tasks/types.ts";
import { type TaskOutcomeEvent, TaskWorker } from "../worker/task-worker.ts";

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
  worker: TaskWorker;
  ping(): Promise<void>;
  /** Stops the worker (running attempts are handed back), then closes the files. */
  close(): Promise<void>;
}

export async function openEmbeddedTasks(
  options: EmbeddedTaskOptions & { dataDir: string; logger: Logger; journal: JournalOptions },
): Promise<EmbeddedTasks> {
  const settings = options.settings ?? defaultTaskSettings();
  let registry = options.registry;
  if (!registry) {
    registry = defaultRegistry();
    for (const task of BUILTIN_TASKS) registry.add(task);
  }
  await loadTaskModules(settings.modules, registry);

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
  const worker = new TaskWorker({
    queue,
    store,
    registry,
    logger: options.logger,
    concurrency: settings.concurrency,
    leaseMs: settings.leaseMs,
    timeoutMs: settings.timeoutMs,
    backoff: settings.backoff,
    owner: `${hostname()}-${process.pid}`,
    sweepIntervalMs: options.sweepIntervalMs,
    onOutcome: options.onOutcome,
  });
  worker.start();
  const service = new TaskService({
    registry,
    store,
    queue,
    maxAttempts: settings.maxAttempts,
    now: options.now,
  });

  return {
    service,
    store,
    queue,
    worker,
    async ping() {
      await queue.ping();
      await store.ping();
    },
    async close() {
      await worker.stop();
      await queue.close();
      await store.close();
    },
  };
}
