/**
 * JSON schemas of the task routes' bodies and parameters (SPEC "Generic
 * tasks"), next to the contract's own in contract.ts.
 */
const TASK_ID_PATTERN = "^[A-Za-z0-9_-]{16,64}$";

export const taskSchema = {
  $id: "Task",
  type: "object",
  required: ["taskId", "type", "status", "attempts", "maxAttempts", "createdAt", "updatedAt"],
  properties: {
    taskId: { type: "string" },
    type: { type: "string" },
    status: { type: "string", enum: ["queued", "running", "succeeded", "failed"] },
    result: { description: "the handler's JSON result, once succeeded" },
    error: { type: "string", description: "the latest failed attempt's error (absent once succeeded)" },
    attempts: { type: "integer", description: "attempts started so far" },
    maxAttempts: { type: "integer", description: "attempts allowed before the dead-letter list" },
    createdAt: { type: "string", format: "date-time" },
    updatedAt: { type: "string", format: "date-time" },
    startedAt: { type: "string", format: "date-time", description: "when the latest attempt started" },
    finishedAt: { type: "string", format: "date-time" },
    nextAttemptAt: {
      type: "string",
      format: "date-time",
      description: "queued for a retry: the next attempt starts no earlier",
    },
  },
} as const;

export const taskAcceptedSchema = {
  type: "object",
  required: ["taskId", "status"],
  properties: { taskId: { type: "string" }, status: { type: "string", enum: ["queued"] } },
} as const;

export const submitTaskRequest = {
  type: "object",
  required: ["type", "payload"],
  additionalProperties: false,
  properties: {
    type: { type: "string", minLength: 1, maxLength: 128 },
    payload: { description: "any JSON; checked against the task type's schema" },
  },
} as const;

export const taskParams = {
  type: "object",
  required: ["taskId"],
  properties: { taskId: { type: "string", pattern: TASK_ID_PATTERN } },
} as const;

export const deadLetterQuery = {
  type: "object",
  additionalProperties: false,
  properties: {
    limit: { type: "string", pattern: "^(1000|[1-9][0-9]{0,2})$", description: "1-1000, default 100" },
    offset: { type: "string", pattern: "^[0-9]{1,7}$", description: "default 0" },
  },
} as const;
