import type { TaskMessage, TaskRecord, TaskStatus } from "../../../ports/task-store.ts";

/** A task hash as Redis returns it (HGETALL: field, value, field, value...), to a record. */
export function recordFromFlat(taskId: string, flat: readonly string[]): TaskRecord | undefined {
  if (flat.length === 0) return undefined;
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) f[flat[i]!] = flat[i + 1]!;
  const status = f.status as TaskStatus;
  const task: TaskRecord = {
    taskId,
    type: f.type ?? "",
    payload: JSON.parse(f.payload ?? "null"),
    createdAt: Number(f.created_at),
    maxAttempts: Number(f.max_attempts),
    status,
    attempts: Number(f.attempts ?? 0),
    updatedAt: Number(f.updated_at),
  };
  if (f.result !== undefined) task.result = JSON.parse(f.result);
  if (f.error !== undefined) task.error = f.error;
  if (f.started_at !== undefined) task.startedAt = Number(f.started_at);
  if (f.finished_at !== undefined) task.finishedAt = Number(f.finished_at);
  if (status === "queued" && f.run_after !== undefined) task.runAfter = Number(f.run_after);
  return task;
}

/** The due script's answer (id, type, payload, created_at, max_attempts, ...) to messages. */
export function messagesFromFlat(flat: readonly string[]): TaskMessage[] {
  const out: TaskMessage[] = [];
  for (let i = 0; i + 4 < flat.length; i += 5)
    out.push({
      taskId: flat[i]!,
      type: flat[i + 1]!,
      payload: JSON.parse(flat[i + 2]!),
      createdAt: Number(flat[i + 3]),
      maxAttempts: Number(flat[i + 4]),
    });
  return out;
}
