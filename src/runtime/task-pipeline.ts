import { hostname } from "node:os";
import type { Logger } from "pino";
import type { Queue } from "../ports/queue.ts";
import type { TaskMessage, TaskStore } from "../ports/task-store.ts";
import { BUILTIN_TASKS } from "../services/tasks/builtin.ts";
import { loadTaskModules } from "../services/tasks/modules.ts";
import { defaultRegistry, type TaskRegistry } from "../services/tasks/registry.ts";
import type { TaskSettings } from "../services/tasks/settings.ts";
import { TaskService } from "../services/tasks/task-service.ts";
import { type TaskOutcomeEvent, TaskWorker } from "../workers/task-worker.ts";

/**
 * Wires the task pipeline from any mode's queue and store: the API side (a
 * TaskService, one of the services buildApp serves) and, where the process runs workers, a
 * started TaskWorker. The embedded runtime calls this with its journal queue
 * and SQLite store; the distributed one with its tasks stream/topic and the
 * RedisTaskStore.
 */
export interface TaskPipelineOptions {
  queue: Queue<TaskMessage>;
  store: TaskStore;
  settings: TaskSettings;
  logger: Logger;
  /** Default: the process's registry with the built-in tasks and TASK_MODULES loaded. */
  registry?: TaskRegistry;
  /** False for an API-only process. */
  runWorker: boolean;
  /** The worker's name in task leases (INSTANCE_ID). */
  owner?: string;
  sweepIntervalMs?: number;
  onOutcome?: (event: TaskOutcomeEvent) => void;
  now?: () => number;
}

export interface TaskPipeline {
  service: TaskService;
  worker: TaskWorker | undefined;
  /** Stops the worker (running attempts are handed back). The queue and store are the caller's to close. */
  stop(): Promise<void>;
}

/** The built-in tasks plus those of TASK_MODULES, in the process's registry. */
export async function loadTaskRegistry(modules: readonly string[]): Promise<TaskRegistry> {
  const registry = defaultRegistry();
  for (const task of BUILTIN_TASKS) registry.add(task);
  await loadTaskModules(modules, registry);
  return registry;
}

export async function openTaskPipeline(options: TaskPipelineOptions): Promise<TaskPipeline> {
  const { queue, store, settings } = options;
  const registry = options.registry ?? (await loadTaskRegistry(settings.modules));
  let worker: TaskWorker | undefined;
  if (options.runWorker) {
    worker = new TaskWorker({
      queue,
      store,
      registry,
      logger: options.logger,
      concurrency: settings.concurrency,
      leaseMs: settings.leaseMs,
      timeoutMs: settings.timeoutMs,
      backoff: settings.backoff,
      owner: options.owner ?? `${hostname()}-${process.pid}`,
      sweepIntervalMs: options.sweepIntervalMs,
      onOutcome: options.onOutcome,
    });
    worker.start();
  }
  const service = new TaskService({
    registry,
    store,
    queue,
    maxAttempts: settings.maxAttempts,
    now: options.now,
  });
  return { service, worker, stop: async () => worker?.stop() };
}
