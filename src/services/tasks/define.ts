import { Ajv, type ValidateFunction } from "ajv";
import addFormats from "ajv-formats";
import { defaultRegistry } from "./registry.ts";

/**
 * What a task type is (a name, a JSON Schema for its payload, a handler) and
 * the library API that defines one (docs/tasks.md):
 *
 *   export const resize = defineTask<{ url: string }>(
 *     "resize-image",
 *     { type: "object", required: ["url"], properties: { url: { type: "string" } } },
 *     async ({ taskId, attempt, payload, signal }) => ({ done: payload.url }),
 *   );
 *
 * The schema is compiled here, so a bad schema fails when the module loads,
 * not on the first request. The API answers 400 `invalid_request` for a
 * payload it rejects; the worker checks again before running (in distributed
 * mode it may run another version of the code than the API). Definitions are
 * held by a TaskRegistry (registry.ts).
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

export const TASK_NAME_PATTERN = "^[A-Za-z0-9_.:-]{1,64}$";
const TASK_NAME = new RegExp(TASK_NAME_PATTERN);

// The HTTP API's stance: no coercion, no defaults filled in, nothing removed;
// the handler gets exactly what was sent.
const ajv = new Ajv({ allErrors: false, coerceTypes: false, useDefaults: false, strict: false });
addFormats.default(ajv);

/** Builds a task definition and registers it in the process's task registry. */
export function defineTask<P = unknown, R = unknown>(
  name: string,
  schema: JsonSchema,
  handler: TaskHandler<P, R>,
  options: TaskOptions = {},
): TaskDefinition<P, R> {
  const definition = createTask(name, schema, handler, options);
  defaultRegistry().add(definition as TaskDefinition);
  return definition;
}

/** A definition registered nowhere (tests, private registries). */
export function createTask<P = unknown, R = unknown>(
  name: string,
  schema: JsonSchema,
  handler: TaskHandler<P, R>,
  options: TaskOptions = {},
): TaskDefinition<P, R> {
  if (!TASK_NAME.test(name)) throw new TypeError(`task name "${name}" must match ${TASK_NAME_PATTERN}`);
  if (typeof handler !== "function") throw new TypeError(`task "${name}": the handler must be a function`);
  let validate: ValidateFunction;
  try {
    validate = ajv.compile(schema);
  } catch (error) {
    throw new TypeError(`task "${name}": invalid payload schema: ${(error as Error).message}`);
  }
  return Object.freeze({
    [TASK_BRAND]: true as const,
    name,
    schema,
    handler,
    options: Object.freeze({ ...options }),
    check(payload: unknown) {
      if (validate(payload)) return undefined;
      const first = validate.errors?.[0];
      if (!first) return "the payload does not match the task's schema";
      return `payload${first.instancePath.replaceAll("/", ".")} ${first.message ?? "is invalid"}`;
    },
  });
}
