/**
 * The task seam. A task travels on its own Queue<TaskMessage> (the same queue
 * implementations as claims, another stream/topic/journal); its status lives
 * in a TaskStore (SQLite under DATA_DIR in embedded mode, Redis in distributed
 * mode). The store, not the queue, is the truth: a message only says "look at
 * this task", so duplicate or redelivered messages are harmless, and the store
 * decides atomically whether an attempt may start.
 *
 * Lifecycle: queued -> running -> succeeded | failed. A failed attempt with
 * attempts left goes back to queued with a `runAfter` (exponential backoff);
 * `failed` is final and puts the task in the dead-letter list. `attempts`
 * counts attempts STARTED, so a task whose handler keeps killing its worker
 * still runs out of attempts.
 */
export type TaskStatus = "queued" | "running" | "succeeded" | "failed";

/** What travels on the tasks queue: everything needed to (re)create the task. */
export interface TaskMessage {
  taskId: string;
  type: string;
  payload: unknown;
  /** Epoch ms. */
  createdAt: number;
  /** Attempts allowed in total (a dead-letter retry raises it). */
  maxAttempts: number;
}

export interface TaskRecord extends TaskMessage {
  status: TaskStatus;
  /** Attempts started so far. */
  attempts: number;
  /** The handler's JSON result, once succeeded. */
  result?: unknown;
  /** The last attempt's error (kept while queued for a retry, and once failed). */
  error?: string;
  updatedAt: number;
  /** When the latest attempt started. */
  startedAt?: number;
  /** When the task succeeded or was dead-lettered. */
  finishedAt?: number;
  /** Queued for a retry: not started before this time. */
  runAfter?: number;
}

export type StartOutcome =
  /** The attempt is this caller's: attempts was incremented and a lease taken. */
  | { kind: "run"; task: TaskRecord }
  /** Nothing to do: finished, leased by a live attempt, or waiting for its retry time. */
  | { kind: "skip"; reason: "finished" | "leased" | "not_due" }
  /** The attempts ran out without an outcome (the worker died each time): dead-lettered now. */
  | { kind: "gave_up"; task: TaskRecord };

export type TaskListener = (task: TaskRecord) => void;

export interface TaskStore {
  /**
   * Remembers the message an Idempotency-Key produced. Resolves undefined if
   * the key was new (and is now taken by `message`), else the earlier message.
   */
  rememberKey(key: string, message: TaskMessage): Promise<TaskMessage | undefined>;
  /** Inserts the task as queued unless it exists (a worker may have seen its message first). */
  create(message: TaskMessage): Promise<void>;
  get(taskId: string): Promise<TaskRecord | undefined>;
  /**
   * Decides whether an attempt starts now, for the message just taken off the
   * queue (creating the task if its record is missing). `run` holds a lease of
   * `leaseMs` that renew() must extend while the handler runs.
   */
  start(message: TaskMessage, owner: string, leaseMs: number): Promise<StartOutcome>;
  /** Extends the lease; false once the attempt is no longer the task's current one. */
  renew(taskId: string, attempt: number, owner: string, leaseMs: number): Promise<boolean>;
  /** Records the result if `attempt` is still the current one (else undefined: nothing changed). */
  succeed(taskId: string, attempt: number, result: unknown): Promise<TaskRecord | undefined>;
  /**
   * Records a failed attempt: queued again after `retryInMs`, or dead-lettered
   * when it is undefined. Undefined (nothing changed) if `attempt` is stale.
   */
  fail(
    taskId: string,
    attempt: number,
    error: string,
    retryInMs: number | undefined,
  ): Promise<TaskRecord | undefined>;
  /** Gives an interrupted attempt back (shutdown): queued again at once, the attempt still counted. */
  release(taskId: string, attempt: number): Promise<void>;
  /**
   * Tasks to publish again: retries whose time has come and running tasks
   * whose lease expired. Each is then held for `holdMs`, so that concurrent
   * callers do not both publish it and a publish lost in a crash is repeated.
   */
  due(limit: number, holdMs: number): Promise<TaskMessage[]>;
  /** The dead-letter list (failed tasks), newest first. */
  deadLetters(limit: number, offset: number): Promise<TaskRecord[]>;
  /** Queues a dead-lettered task again with `extraAttempts` more attempts; undefined if it is not dead-lettered. */
  retryDeadLetter(taskId: string, extraAttempts: number): Promise<TaskRecord | undefined>;
  /** Calls `listener` on every change of the task. Resolves once live, so a read after it misses nothing. */
  watch(taskId: string, listener: TaskListener): Promise<() => void>;
  /** Throws when the store cannot answer (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** How long records are kept once finished. */
export interface TaskRetention {
  /** Succeeded tasks (and Idempotency-Keys). */
  ttlMs: number;
  /** Dead-lettered (failed) tasks. */
  deadLetterTtlMs: number;
}
