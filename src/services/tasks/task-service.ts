import { randomBytes } from "node:crypto";
import type { Queue } from "../../ports/queue.ts";
import type { TaskListener, TaskMessage, TaskRecord, TaskStore } from "../../ports/task-store.ts";
import type { TaskRegistry } from "./registry.ts";

/**
 * What the HTTP API does with tasks, whatever the mode: it only sees a
 * registry, a TaskStore and a Queue<TaskMessage>.
 *
 * Submitting publishes first and records second. A crash in between leaves a
 * message whose record is missing, and the worker creates the record from the
 * message; the other order could leave a queued record that no message will
 * ever start.
 */
export type SubmitOutcome =
  | { kind: "queued"; taskId: string; replayed: boolean }
  | { kind: "unknown_type"; type: string }
  | { kind: "invalid"; message: string };

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

export class TaskService {
  readonly #options: TaskServiceOptions;

  constructor(options: TaskServiceOptions) {
    this.#options = options;
  }

  get registry(): TaskRegistry {
    return this.#options.registry;
  }

  async submit(type: string, payload: unknown, idempotencyKey?: string): Promise<SubmitOutcome> {
    const { registry, store } = this.#options;
    const definition = registry.get(type);
    if (!definition) return { kind: "unknown_type", type };
    const invalid = definition.check(payload);
    if (invalid !== undefined) return { kind: "invalid", message: `${invalid} (task type "${type}")` };
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
        return { kind: "queued", taskId: earlier.taskId, replayed: true };
      }
    }
    await this.#enqueue(message);
    return { kind: "queued", taskId: message.taskId, replayed: false };
  }

  get(taskId: string): Promise<TaskRecord | undefined> {
    return this.#options.store.get(taskId);
  }

  deadLetters(limit: number, offset: number): Promise<TaskRecord[]> {
    return this.#options.store.deadLetters(limit, offset);
  }

  /**
   * Queues a dead-lettered task again with a fresh set of attempts. The store
   * marks it due at once; a worker's sweep publishes it.
   */
  async retryDeadLetter(taskId: string): Promise<TaskRecord | undefined> {
    const { store, registry } = this.#options;
    const task = await store.get(taskId);
    if (task?.status !== "failed") return undefined;
    const attempts = registry.get(task.type)?.options.maxAttempts ?? this.#options.maxAttempts;
    return store.retryDeadLetter(taskId, attempts);
  }

  watch(taskId: string, listener: TaskListener): Promise<() => void> {
    return this.#options.store.watch(taskId, listener);
  }

  async #enqueue(message: TaskMessage): Promise<void> {
    await this.#options.queue.publish([message]);
    await this.#options.store.create(message);
  }
}
