/**
 * What a task type is: a name, a JSON Schema for its payload, and a handler.
 * Built by defineTask() (define.ts); held by a TaskRegistry (registry.ts).
 */
export interface TaskContext<P> {
  taskId: string;
  /** 1 for the first attempt; with taskId, what makes side effects idempotent. */
  attempt: number;
  payload: P;
  /** Aborted when the attempt times out, loses its lease, or the worker shuts down. */
  signal: AbortSignal;
}

export type TaskHandler<P, R> = (context: TaskContext<P>) => Promise<R> | R;

export interface TaskOptions {
  /** Attempts in total before the task is dead-lettered (default TASK_MAX_ATTEMPTS). */
  maxAttempts?: number;
  /** How long one attempt may run before it counts as failed (default TASK_TIMEOUT_MS). */
  timeoutMs?: number;
}

export type JsonSchema = Record<string, unknown> | boolean;

/**
 * Symbol.for, not Symbol: a handler module may import another copy of this
 * file (src/ vs dist/), and its definitions must still be recognised.
 */
export const TASK_BRAND: unique symbol = Symbol.for("stampede.task-definition") as never;

export interface TaskDefinition<P = unknown, R = unknown> {
  readonly [TASK_BRAND]: true;
  readonly name: string;
  readonly schema: JsonSchema;
  /** A method, not a property, so that a TaskDefinition<{ ms: number }> is a TaskDefinition (bivariance). */
  handler(context: TaskContext<P>): Promise<R> | R;
  readonly options: Readonly<TaskOptions>;
  /** Undefined when the payload is valid, else why not (one line). */
  check(payload: unknown): string | undefined;
}

export function isTaskDefinition(value: unknown): value is TaskDefinition {
  return (
    typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[TASK_BRAND] === true
  );
}

/** Throw this from a handler for a failure a retry cannot fix: the task is dead-lettered at once. */
export class PermanentTaskError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "PermanentTaskError";
  }
}
