/**
 * What a task handler module imports (docs/tasks.md):
 *   import { defineTask, PermanentTaskError } from "<stampede>/src/services/tasks/index.ts";
 */

export type { TaskRecord, TaskStatus } from "../../ports/task-store.ts";
export type { JsonSchema, TaskContext, TaskDefinition, TaskHandler, TaskOptions } from "./define.ts";
export { createTask, defineTask, PermanentTaskError, TASK_NAME_PATTERN } from "./define.ts";
export { defaultRegistry, TaskRegistry } from "./registry.ts";
