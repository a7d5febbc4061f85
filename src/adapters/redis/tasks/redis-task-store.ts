import type { Redis } from "ioredis";
import type {
  StartOutcome,
  TaskListener,
  TaskMessage,
  TaskRecord,
  TaskRetention,
  TaskStore,
} from "../../../ports/task-store.ts";
import { TaskWatchers } from "../../task-watchers.ts";
import { RedisKeys, type TaskKeys } from "../keys.ts";
import { redisScripts, type Scripts } from "../scripts.ts";
import { messagesFromFlat, recordFromFlat } from "./fields.ts";

export interface RedisTaskStoreOptions {
  redis: Redis;
  /** REDIS_PREFIX. */
  prefix: string;
  retention: TaskRetention;
}

/**
 * The distributed mode's TaskStore: a hash per task, a zset of what is due
 * (retries and leases, by time), a zset of dead letters, one Lua script per
 * state change (the task scripts of ../scripts.ts). Times inside the scripts come from Redis TIME,
 * so leases mean the same on every worker whatever their clocks say.
 * Finished tasks expire with PEXPIRE; every change is PUBLISHed on the task's
 * channel for watch() (SSE in any API instance).
 *
 * The Redis client belongs to the caller (it is shared with the rest of the
 * mode); the store opens its own subscriber connection when first watched.
 */
export class RedisTaskStore implements TaskStore {
  readonly #redis: Redis;
  readonly #scripts: Scripts;
  readonly #keys: TaskKeys;
  readonly #retention: TaskRetention;
  readonly #watchers = new TaskWatchers();
  readonly #eventsPrefix: string;
  #subscriber: Redis | undefined;

  constructor(options: RedisTaskStoreOptions) {
    this.#redis = options.redis;
    this.#scripts = redisScripts(options.redis);
    this.#keys = new RedisKeys(options.prefix).tasks;
    this.#retention = options.retention;
    this.#eventsPrefix = this.#keys.events("");
  }

  async rememberKey(key: string, message: TaskMessage): Promise<TaskMessage | undefined> {
    const earlier = await this.#scripts.rememberKey(
      [this.#keys.idempotency(key)],
      [JSON.stringify(message), this.#retention.ttlMs],
    );
    return typeof earlier === "string" ? (JSON.parse(earlier) as TaskMessage) : undefined;
  }

  async create(message: TaskMessage): Promise<void> {
    await this.#scripts.createTask(
      [this.#keys.task(message.taskId)],
      [
        message.type,
        JSON.stringify(message.payload),
        message.maxAttempts,
        message.createdAt,
        this.#keys.events(message.taskId),
      ],
    );
  }

  async get(taskId: string): Promise<TaskRecord | undefined> {
    const fields = await this.#redis.hgetall(this.#keys.task(taskId));
    return recordFromFlat(taskId, Object.entries(fields).flat());
  }

  async start(message: TaskMessage, owner: string, leaseMs: number): Promise<StartOutcome> {
    const { taskId } = message;
    const answer = (await this.#scripts.startTask(
      [this.#keys.task(taskId), this.#keys.due, this.#keys.dead],
      [
        taskId,
        message.type,
        JSON.stringify(message.payload),
        message.maxAttempts,
        message.createdAt,
        owner,
        leaseMs,
        this.#retention.deadLetterTtlMs,
        this.#keys.events(taskId),
      ],
    )) as string[];
    const [code, ...flat] = answer;
    switch (code) {
      case "finished":
      case "leased":
      case "not_due":
        return { kind: "skip", reason: code };
      case "run":
      case "gave_up":
        return { kind: code, task: recordFromFlat(taskId, flat)! };
      default:
        throw new Error(`start-task answered ${String(code)}`);
    }
  }

  async renew(taskId: string, attempt: number, owner: string, leaseMs: number): Promise<boolean> {
    const renewed = await this.#scripts.renewTask(
      [this.#keys.task(taskId), this.#keys.due],
      [taskId, attempt, owner, leaseMs],
    );
    return renewed === 1;
  }

  succeed(taskId: string, attempt: number, result: unknown): Promise<TaskRecord | undefined> {
    return this.#finish(
      taskId,
      attempt,
      "succeeded",
      JSON.stringify(result ?? null),
      0,
      this.#retention.ttlMs,
    );
  }

  fail(
    taskId: string,
    attempt: number,
    error: string,
    retryInMs: number | undefined,
  ): Promise<TaskRecord | undefined> {
    if (retryInMs !== undefined) return this.#finish(taskId, attempt, "retry", error, retryInMs, 0);
    return this.#finish(taskId, attempt, "failed", error, 0, this.#retention.deadLetterTtlMs);
  }

  async release(taskId: string, attempt: number): Promise<void> {
    await this.#scripts.releaseTask(
      [this.#keys.task(taskId), this.#keys.due],
      [taskId, attempt, this.#keys.events(taskId)],
    );
  }

  async due(limit: number, holdMs: number): Promise<TaskMessage[]> {
    const flat = (await this.#scripts.dueTasks(
      [this.#keys.due],
      [limit, holdMs, this.#keys.taskPrefix],
    )) as string[];
    return messagesFromFlat(flat);
  }

  async deadLetters(limit: number, offset: number): Promise<TaskRecord[]> {
    const dead = this.#keys.dead;
    // Dead letters past their TTL: their hashes expired; drop their entries too.
    await this.#redis.zremrangebyscore(dead, "-inf", Date.now() - this.#retention.deadLetterTtlMs);
    const ids = await this.#redis.zrevrange(dead, offset, offset + limit - 1);
    if (ids.length === 0) return [];
    const pipeline = this.#redis.pipeline();
    for (const id of ids) pipeline.hgetall(this.#keys.task(id));
    const answers = (await pipeline.exec()) ?? [];
    const tasks: TaskRecord[] = [];
    const gone: string[] = [];
    ids.forEach((id, i) => {
      const [error, fields] = answers[i] ?? [];
      if (error) throw error;
      const task = recordFromFlat(id, Object.entries((fields ?? {}) as Record<string, string>).flat());
      if (task?.status === "failed") tasks.push(task);
      else if (!task) gone.push(id);
    });
    if (gone.length > 0) await this.#redis.zrem(dead, ...gone);
    return tasks;
  }

  async retryDeadLetter(taskId: string, extraAttempts: number): Promise<TaskRecord | undefined> {
    const flat = await this.#scripts.retryDeadLetter(
      [this.#keys.task(taskId), this.#keys.due, this.#keys.dead],
      [taskId, extraAttempts, this.#keys.events(taskId)],
    );
    return Array.isArray(flat) ? recordFromFlat(taskId, flat as string[]) : undefined;
  }

  async watch(taskId: string, listener: TaskListener): Promise<() => void> {
    const channel = this.#keys.events(taskId);
    const { first, remove } = this.#watchers.add(taskId, listener);
    const unwatch = () => {
      if (remove()) this.#subscriber?.unsubscribe(channel).catch(() => undefined);
    };
    if (first) {
      try {
        await this.#events().subscribe(channel);
      } catch (error) {
        unwatch();
        throw error;
      }
    }
    return unwatch;
  }

  async ping(): Promise<void> {
    await this.#redis.ping();
  }

  async close(): Promise<void> {
    this.#watchers.clear();
    const subscriber = this.#subscriber;
    this.#subscriber = undefined;
    if (subscriber) await subscriber.quit().catch(() => subscriber.disconnect());
  }

  async #finish(
    taskId: string,
    attempt: number,
    outcome: "succeeded" | "retry" | "failed",
    value: string,
    retryInMs: number,
    keepMs: number,
  ): Promise<TaskRecord | undefined> {
    const flat = await this.#scripts.finishTask(
      [this.#keys.task(taskId), this.#keys.due, this.#keys.dead],
      [taskId, attempt, outcome, value, retryInMs, keepMs, this.#keys.events(taskId)],
    );
    return Array.isArray(flat) ? recordFromFlat(taskId, flat as string[]) : undefined;
  }

  /** The subscriber connection, opened on first use. */
  #events(): Redis {
    if (this.#subscriber) return this.#subscriber;
    const subscriber = this.#redis.duplicate();
    subscriber.on("message", (channel: string, message: string) => {
      if (!channel.startsWith(this.#eventsPrefix)) return;
      const taskId = channel.slice(this.#eventsPrefix.length);
      let task: TaskRecord | undefined;
      try {
        task = recordFromFlat(taskId, JSON.parse(message) as string[]);
      } catch {
        return;
      }
      if (task) this.#watchers.emit(task);
    });
    // Errors surface through the commands that fail; this keeps ioredis quiet.
    subscriber.on("error", () => undefined);
    this.#subscriber = subscriber;
    return subscriber;
  }
}
