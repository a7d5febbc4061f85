/**
 * Every Redis key and channel the task store uses, built in one place.
 * `prefix` is REDIS_PREFIX (tests use their own).
 */
export function taskKeys(prefix: string) {
  const taskPrefix = `${prefix}:task:`;
  return {
    /** Prefix of the task hashes, for scripts that build them from ids. */
    taskPrefix,
    /** Hash: one task's record. */
    task: (taskId: string) => `${taskPrefix}${taskId}`,
    /** Zset: task id -> when to publish it again (retry time, or lease end). */
    due: `${prefix}:tasks:due`,
    /** Zset: task id -> when it was dead-lettered. */
    dead: `${prefix}:tasks:dead`,
    /** String: the TaskMessage an Idempotency-Key produced. */
    idempotency: (key: string) => `${prefix}:task-key:${key}`,
    /** Pub/sub channel: the task's hash after each change. */
    events: (taskId: string) => `${prefix}:task-events:${taskId}`,
  };
}

export type TaskKeys = ReturnType<typeof taskKeys>;
