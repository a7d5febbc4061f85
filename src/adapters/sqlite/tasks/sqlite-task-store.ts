import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import type {
  StartOutcome,
  TaskListener,
  TaskMessage,
  TaskRecord,
  TaskRetention,
  TaskStore,
} from "../../../ports/task-store.ts";
import { readMigrations } from "../../migration-files.ts";
import { TaskWatchers } from "../../task-watchers.ts";
import { migrate } from "../migrate.ts";
import { fromRow, type TaskRow, toMessage } from "./rows.ts";

export interface SqliteTaskStoreOptions {
  dataDir: string;
  retention: TaskRetention;
  now?: () => number;
  /** How often finished tasks past their TTL are deleted. */
  pruneIntervalMs?: number;
}

const MIGRATIONS_DIR = new URL("./migrations/", import.meta.url);

const GAVE_UP = (attempts: number) =>
  `attempt ${attempts} did not finish (its worker stopped or lost the task); ${attempts} attempts were allowed`;

/**
 * The embedded mode's TaskStore: node:sqlite in DATA_DIR/tasks.sqlite.
 *
 * Durability: WAL with synchronous=NORMAL. Every change survives a kill -9
 * (it is in the OS before the call returns) without an fsync per change,
 * which would block the event loop for ~2 ms each time. What a task's 202
 * promises rests on the tasks journal, which is fsync'ed before the 202;
 * after a power loss the newest status changes may be lost, and those tasks
 * run again (at least once, as the contract says).
 *
 * One process owns a DATA_DIR, so every operation is one synchronous step of
 * this process and needs no locking; at open, the attempts that were running
 * died with the previous process and their leases are voided.
 */
export class SqliteTaskStore implements TaskStore {
  readonly #db: DatabaseSync;
  readonly #sql: ReturnType<typeof prepare>;
  readonly #retention: TaskRetention;
  readonly #now: () => number;
  readonly #watchers = new TaskWatchers();
  readonly #pruner: NodeJS.Timeout;
  #closed = false;

  constructor(options: SqliteTaskStoreOptions) {
    mkdirSync(options.dataDir, { recursive: true });
    this.#db = new DatabaseSync(join(options.dataDir, "tasks.sqlite"));
    // busy_timeout, first: only another process opening the same file at once would make it wait.
    this.#db.exec("PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;");
    migrate(this.#db, readMigrations(MIGRATIONS_DIR), { userVersion: true });
    this.#sql = prepare(this.#db);
    this.#retention = options.retention;
    this.#now = options.now ?? Date.now;
    const now = this.#now();
    this.#sql.voidLeases.run(now, now);
    this.#prune();
    this.#pruner = setInterval(() => this.#prune(), options.pruneIntervalMs ?? 60_000);
    this.#pruner.unref();
  }

  async rememberKey(key: string, message: TaskMessage): Promise<TaskMessage | undefined> {
    const now = this.#now();
    const row = this.#sql.getKey.get(key, now) as { message: string } | undefined;
    if (row) return JSON.parse(row.message) as TaskMessage;
    this.#sql.putKey.run(key, JSON.stringify(message), now + this.#retention.ttlMs);
    return undefined;
  }

  async create(message: TaskMessage): Promise<void> {
    const now = this.#now();
    const { changes } = this.#sql.insert.run(
      message.taskId,
      message.type,
      JSON.stringify(message.payload),
      message.maxAttempts,
      message.createdAt,
      now,
    );
    if (changes > 0) this.#emit(message.taskId);
  }

  async get(taskId: string): Promise<TaskRecord | undefined> {
    return this.#read(taskId);
  }

  async start(message: TaskMessage, owner: string, leaseMs: number): Promise<StartOutcome> {
    await this.create(message);
    const now = this.#now();
    const row = this.#sql.get.get(message.taskId, now) as TaskRow | undefined;
    // Gone: finished and past its TTL, and this message is a late duplicate.
    if (!row || row.status === "succeeded" || row.status === "failed")
      return { kind: "skip", reason: "finished" };
    if (row.status === "running" && (row.lease_until ?? 0) > now) return { kind: "skip", reason: "leased" };
    if (row.status === "queued" && (row.run_after ?? 0) > now) return { kind: "skip", reason: "not_due" };
    if (row.attempts >= row.max_attempts) {
      this.#sql.deadLetter.run(
        GAVE_UP(row.attempts),
        now,
        now,
        now + this.#retention.deadLetterTtlMs,
        row.task_id,
      );
      return { kind: "gave_up", task: this.#emit(row.task_id)! };
    }
    this.#sql.begin.run(now, now, owner, now + leaseMs, now + leaseMs, row.task_id);
    return { kind: "run", task: this.#emit(row.task_id)! };
  }

  async renew(taskId: string, attempt: number, owner: string, leaseMs: number): Promise<boolean> {
    const until = this.#now() + leaseMs;
    return this.#sql.renew.run(until, until, taskId, attempt, owner).changes > 0;
  }

  async succeed(taskId: string, attempt: number, result: unknown): Promise<TaskRecord | undefined> {
    const now = this.#now();
    const { changes } = this.#sql.succeed.run(
      JSON.stringify(result ?? null),
      now,
      now,
      now + this.#retention.ttlMs,
      taskId,
      attempt,
    );
    return changes > 0 ? this.#emit(taskId) : undefined;
  }

  async fail(
    taskId: string,
    attempt: number,
    error: string,
    retryInMs: number | undefined,
  ): Promise<TaskRecord | undefined> {
    const now = this.#now();
    const { changes } =
      retryInMs === undefined
        ? this.#sql.failFinal.run(error, now, now, now + this.#retention.deadLetterTtlMs, taskId, attempt)
        : this.#sql.failRetry.run(error, now, now + retryInMs, now + retryInMs, taskId, attempt);
    return changes > 0 ? this.#emit(taskId) : undefined;
  }

  async release(taskId: string, attempt: number): Promise<void> {
    const now = this.#now();
    if (this.#sql.release.run(now, now, taskId, attempt).changes > 0) this.#emit(taskId);
  }

  async due(limit: number, holdMs: number): Promise<TaskMessage[]> {
    const now = this.#now();
    const rows = this.#sql.due.all(now, limit) as unknown as TaskRow[];
    for (const row of rows) this.#sql.hold.run(now + holdMs, row.task_id);
    return rows.map(toMessage);
  }

  async deadLetters(limit: number, offset: number): Promise<TaskRecord[]> {
    const rows = this.#sql.deadLetters.all(this.#now(), limit, offset) as unknown as TaskRow[];
    return rows.map(fromRow);
  }

  async retryDeadLetter(taskId: string, extraAttempts: number): Promise<TaskRecord | undefined> {
    const now = this.#now();
    const { changes } = this.#sql.retryDead.run(extraAttempts, now, now, taskId, now);
    return changes > 0 ? this.#emit(taskId) : undefined;
  }

  async watch(taskId: string, listener: TaskListener): Promise<() => void> {
    const { remove } = this.#watchers.add(taskId, listener);
    return () => void remove();
  }

  async ping(): Promise<void> {
    if (this.#closed) throw new Error("task store is closed");
    this.#sql.ping.get();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#pruner);
    this.#watchers.clear();
    this.#db.close();
  }

  #read(taskId: string): TaskRecord | undefined {
    const row = this.#sql.get.get(taskId, this.#now()) as TaskRow | undefined;
    return row && fromRow(row);
  }

  /** Reads the task back after a change and tells its watchers. */
  #emit(taskId: string): TaskRecord | undefined {
    const task = this.#read(taskId);
    if (task) this.#watchers.emit(task);
    return task;
  }

  #prune(): void {
    if (this.#closed) return;
    const now = this.#now();
    this.#sql.pruneTasks.run(now);
    this.#sql.pruneKeys.run(now);
  }
}

const LIVE = "(expires_at IS NULL OR expires_at > ?)";

function prepare(db: DatabaseSync) {
  const s = (sql: string): StatementSync => db.prepare(sql);
  return {
    ping: s("SELECT 1"),
    getKey: s("SELECT message FROM task_keys WHERE key = ? AND expires_at > ?"),
    putKey: s("INSERT OR REPLACE INTO task_keys (key, message, expires_at) VALUES (?, ?, ?)"),
    insert: s(
      `INSERT INTO tasks (task_id, type, payload, status, attempts, max_attempts, created_at, updated_at)
       VALUES (?, ?, ?, 'queued', 0, ?, ?, ?) ON CONFLICT (task_id) DO NOTHING`,
    ),
    get: s(`SELECT * FROM tasks WHERE task_id = ? AND ${LIVE}`),
    deadLetter: s(
      `UPDATE tasks SET status = 'failed', error = ?, updated_at = ?, finished_at = ?, expires_at = ?,
         lease_owner = NULL, lease_until = NULL, dispatch_at = NULL, run_after = NULL
       WHERE task_id = ?`,
    ),
    begin: s(
      `UPDATE tasks SET status = 'running', attempts = attempts + 1, updated_at = ?, started_at = ?,
         lease_owner = ?, lease_until = ?, dispatch_at = ?, run_after = NULL
       WHERE task_id = ?`,
    ),
    renew: s(
      `UPDATE tasks SET lease_until = ?, dispatch_at = ?
       WHERE task_id = ? AND status = 'running' AND attempts = ? AND lease_owner = ?`,
    ),
    succeed: s(
      `UPDATE tasks SET status = 'succeeded', result = ?, error = NULL, updated_at = ?, finished_at = ?,
         expires_at = ?, lease_owner = NULL, lease_until = NULL, dispatch_at = NULL
       WHERE task_id = ? AND status = 'running' AND attempts = ?`,
    ),
    failFinal: s(
      `UPDATE tasks SET status = 'failed', error = ?, updated_at = ?, finished_at = ?, expires_at = ?,
         lease_owner = NULL, lease_until = NULL, dispatch_at = NULL
       WHERE task_id = ? AND status = 'running' AND attempts = ?`,
    ),
    failRetry: s(
      `UPDATE tasks SET status = 'queued', error = ?, updated_at = ?, run_after = ?, dispatch_at = ?,
         lease_owner = NULL, lease_until = NULL
       WHERE task_id = ? AND status = 'running' AND attempts = ?`,
    ),
    // The interrupted attempt is given back: the same attempt number runs again.
    release: s(
      `UPDATE tasks SET status = 'queued', attempts = attempts - 1, updated_at = ?, dispatch_at = ?,
         lease_owner = NULL, lease_until = NULL
       WHERE task_id = ? AND status = 'running' AND attempts = ?`,
    ),
    voidLeases: s(
      `UPDATE tasks SET lease_until = ?, dispatch_at = ?, lease_owner = NULL WHERE status = 'running'`,
    ),
    due: s(`SELECT * FROM tasks WHERE dispatch_at <= ? ORDER BY dispatch_at LIMIT ?`),
    hold: s("UPDATE tasks SET dispatch_at = ? WHERE task_id = ?"),
    deadLetters: s(
      `SELECT * FROM tasks WHERE status = 'failed' AND ${LIVE} ORDER BY finished_at DESC, task_id LIMIT ? OFFSET ?`,
    ),
    retryDead: s(
      `UPDATE tasks SET status = 'queued', max_attempts = attempts + ?, updated_at = ?, dispatch_at = ?,
         finished_at = NULL, expires_at = NULL, run_after = NULL
       WHERE task_id = ? AND status = 'failed' AND ${LIVE}`,
    ),
    pruneTasks: s("DELETE FROM tasks WHERE expires_at <= ?"),
    pruneKeys: s("DELETE FROM task_keys WHERE expires_at <= ?"),
  };
}
