/**
 * What a task handler module imports (docs/tasks.md): `stampede/tasks` from the
 * installed package (package.json "exports"), or this file in a checkout:
 *   import { defineTask, PermanentTaskError } from "stampede/tasks";
 */

export type { TaskRecord, TaskStatus } from "../../ports/task-store.ts";
export type { JsonSchema, TaskContext, TaskDefinition, TaskHandler, TaskOptions } from "./define.ts";
export { createTask, defineTask, PermanentTaskError, TASK_NAME_PATTERN } from "./define.ts";
export { defaultRegistry, TaskRegistry } from "./registry.ts";
