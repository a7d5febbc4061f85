import { Ajv, type ValidateFunction } from "ajv";
import addFormats from "ajv-formats";
import {
  type JsonSchema,
  TASK_BRAND,
  type TaskDefinition,
  type TaskHandler,
  type TaskOptions,
} from "./definition.ts";
import { defaultRegistry } from "./registry.ts";

/**
 * The library API for task handlers (docs/tasks.md):
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
 * mode it may run another version of the code than the API).
 */
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
