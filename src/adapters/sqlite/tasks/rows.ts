import type { TaskMessage, TaskRecord, TaskStatus } from "../../../ports/task-store.ts";

/** A row of the embedded store's tasks table, and its conversions. */
export interface TaskRow {
  task_id: string;
  type: string;
  payload: string;
  status: TaskStatus;
  attempts: number;
  max_attempts: number;
  result: string | null;
  error: string | null;
  created_at: number;
  updated_at: number;
  started_at: number | null;
  finished_at: number | null;
  run_after: number | null;
  lease_owner: string | null;
  lease_until: number | null;
  dispatch_at: number | null;
  expires_at: number | null;
}

export function toMessage(row: TaskRow): TaskMessage {
  return {
    taskId: row.task_id,
    type: row.type,
    payload: JSON.parse(row.payload),
    createdAt: row.created_at,
    maxAttempts: row.max_attempts,
  };
}

export function fromRow(row: TaskRow): TaskRecord {
  const task: TaskRecord = {
    ...toMessage(row),
    status: row.status,
    attempts: row.attempts,
    updatedAt: row.updated_at,
  };
  if (row.result !== null) task.result = JSON.parse(row.result);
  if (row.error !== null) task.error = row.error;
  if (row.started_at !== null) task.startedAt = row.started_at;
  if (row.finished_at !== null) task.finishedAt = row.finished_at;
  if (row.status === "queued" && row.run_after !== null) task.runAfter = row.run_after;
  return task;
}
