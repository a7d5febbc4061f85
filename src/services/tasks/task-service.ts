import { randomBytes } from "node:crypto";
import { StampedeError } from "../../domain/errors.ts";
import type { Queue } from "../../ports/queue.ts";
import type { TaskMessage, TaskRecord, TaskStore } from "../../ports/task-store.ts";
import { subscribeThenRead, type Watched } from "../watch.ts";
import type { TaskRegistry } from "./registry.ts";

/** A queued task, and whether an earlier request with the same key queued it. */
export interface Submitted {
  taskId: string;
  /** True when an Idempotency-Key already answered: the first request's task. */
  replayed: boolean;
}

export interface TaskServiceOptions {
  registry: TaskRegistry;
  store: TaskStore;
  queue: Queue<TaskMessage>;
  /** Attempts for a task whose definition does not set maxAttempts (TASK_MAX_ATTEMPTS). */
  maxAttempts: number;
  now?: () => number;
}

/** 128 random bits, base64url (22 characters): knowing a task id is what lets its status be read. */
export const newTaskId = (): string => randomBytes(16).toString("base64url");

/**
 * The task use cases (SPEC "Generic tasks"), whatever the mode: submit, read,
 * follow, and the dead-letter list. The service only sees a registry, a
 * TaskStore and a Queue<TaskMessage>.
 *
 * Submitting publishes first and records second. A crash in between leaves a
 * message whose record is missing, and the worker creates the record from the
 * message; the other order could leave a queued record that no message will
 * ever start.
 */
export class TaskService {
  readonly #options: TaskServiceOptions;

  constructor(options: TaskServiceOptions) {
    this.#options = options;
  }

  get registry(): TaskRegistry {
    return this.#options.registry;
  }

  /** Throws unknown_task_type, or invalid_request for a payload the type's schema refuses. */
  async submit(type: string, payload: unknown, idempotencyKey?: string): Promise<Submitted> {
    const { registry, store } = this.#options;
    const definition = registry.get(type);
    if (!definition)
      throw new StampedeError("unknown_task_type", `No handler is registered for task type "${type}".`);
    const invalid = definition.check(payload);
    if (invalid !== undefined) throw new StampedeError("invalid_request", `${invalid} (task type "${type}")`);
    const message: TaskMessage = {
      taskId: newTaskId(),
      type,
      payload,
      createdAt: (this.#options.now ?? Date.now)(),
      maxAttempts: definition.options.maxAttempts ?? this.#options.maxAttempts,
    };
    if (idempotencyKey !== undefined) {
      const earlier = await store.rememberKey(idempotencyKey, message);
      if (earlier) {
        // The first request may have died between taking the key and
        // publishing: publish again. A duplicate message is harmless, the
        // store lets one attempt start.
        if (!(await store.get(earlier.taskId))) await this.#enqueue(earlier);
        return { taskId: earlier.taskId, replayed: true };
      }
    }
    await this.#enqueue(message);
    return { taskId: message.taskId, replayed: false };
  }

  /** Throws task_not_found. */
  async get(taskId: string): Promise<TaskRecord> {
    const task = await this.#options.store.get(taskId);
    if (!task) throw new StampedeError("task_not_found");
    return task;
  }

  deadLetters(limit: number, offset: number): Promise<TaskRecord[]> {
    return this.#options.store.deadLetters(limit, offset);
  }

  /**
   * Queues a dead-lettered task again with a fresh set of attempts. The store
   * marks it due at once; a worker's sweep publishes it. Throws task_not_found
   * unless the task is dead-lettered.
   */
  async retryDeadLetter(taskId: string): Promise<TaskRecord> {
    const { store, registry } = this.#options;
    const task = await store.get(taskId);
    if (task?.status === "failed") {
      const attempts = registry.get(task.type)?.options.maxAttempts ?? this.#options.maxAttempts;
      const retried = await store.retryDeadLetter(taskId, attempts);
      if (retried) return retried;
    }
    throw new StampedeError("task_not_found", "No dead-lettered task with this id.");
  }

  /** Follows a task: its record now, then each change (SSE). Throws task_not_found. */
  follow(taskId: string): Promise<Watched<TaskRecord>> {
    return subscribeThenRead(
      (listener) => this.#options.store.watch(taskId, listener),
      () => this.get(taskId),
    );
  }

  async #enqueue(message: TaskMessage): Promise<void> {
    await this.#options.queue.publish([message]);
    await this.#options.store.create(message);
  }
}
