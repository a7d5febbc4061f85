import type { Logger } from "pino";
import type { Consumer, Queue } from "../ports/queue.ts";
import type { TaskMessage, TaskRecord, TaskStore } from "../ports/task-store.ts";
import type { TaskRegistry } from "../services/tasks/registry.ts";
import { type BackoffOptions, backoffDelay } from "./backoff.ts";
import { type AttemptOutcome, runAttempt } from "./task-attempt.ts";

/**
 * Runs tasks from their own queue, beside the ClaimWorker, so a slow task
 * never delays a claim. It consumes one message per batch, `concurrency`
 * batches at once; a message is acknowledged once its attempt's outcome is
 * in the store (on Kafka, never past an earlier task still running).
 *
 * The store decides whether an attempt starts (TaskStore.start), so a
 * duplicate or redelivered message is harmless. A sweep publishes again what
 * the store says is due: retries whose backoff has passed, and tasks whose
 * worker died (their lease expired).
 */
export interface TaskWorkerOptions {
  queue: Queue<TaskMessage>;
  store: TaskStore;
  registry: TaskRegistry;
  logger: Logger;
  concurrency: number;
  leaseMs: number;
  timeoutMs: number;
  backoff: BackoffOptions;
  /** This worker's name in leases (INSTANCE_ID). */
  owner: string;
  /** How often the store is asked for due tasks (default 250 ms). */
  sweepIntervalMs?: number;
  /** Observes every recorded outcome (metrics, tests). */
  onOutcome?: (event: TaskOutcomeEvent) => void;
}

export interface TaskOutcomeEvent {
  task: TaskRecord;
  /** "retry": failed, queued again; "failed": dead-lettered. */
  outcome: "succeeded" | "retry" | "failed";
  durationMs: number;
}

const SWEEP_BATCH = 100;

export class TaskWorker {
  readonly #options: TaskWorkerOptions;
  readonly #shutdown = new AbortController();
  #consumer: Consumer | undefined;
  #sweeper: NodeJS.Timeout | undefined;
  #sweeping: Promise<void> | undefined;

  constructor(options: TaskWorkerOptions) {
    this.#options = options;
  }

  start(): void {
    const { queue, concurrency } = this.#options;
    // One message per batch, `concurrency` batches at once: each task is
    // acknowledged when its own outcome is recorded, whatever the others do.
    this.#consumer = queue.consume((batch) => this.#handle(batch), {
      batchSize: 1,
      flushIntervalMs: 0,
      concurrency,
    });
    this.#sweeper = setInterval(() => void this.sweep(), this.#options.sweepIntervalMs ?? 250);
    this.#sweeper.unref();
    void this.sweep();
  }

  /** Publishes what the store says is due. One sweep at a time; errors are logged, the next sweep retries. */
  sweep(): Promise<void> {
    this.#sweeping ??= this.#sweepOnce().finally(() => {
      this.#sweeping = undefined;
    });
    return this.#sweeping;
  }

  /**
   * Stops taking tasks, interrupts the running ones (their signal fires; each
   * is handed back to the store for another worker or the next start) and
   * waits for their handlers to settle or be left behind.
   */
  async stop(): Promise<void> {
    clearInterval(this.#sweeper);
    const stopping = this.#consumer?.stop();
    this.#shutdown.abort();
    await stopping;
    await this.#sweeping;
    this.#consumer = undefined;
  }

  async #sweepOnce(): Promise<void> {
    const { store, queue, leaseMs, logger } = this.#options;
    try {
      for (;;) {
        if (this.#shutdown.signal.aborted) return;
        // Held for a few leases: if this publish is lost in a crash, the task
        // is published again then; a duplicate is harmless.
        const due = await store.due(SWEEP_BATCH, leaseMs * 4);
        if (due.length > 0) await queue.publish(due);
        if (due.length < SWEEP_BATCH) return;
      }
    } catch (error) {
      logger.warn({ err: error }, "task sweep failed; the next one retries");
    }
  }

  async #handle(batch: TaskMessage[]): Promise<void> {
    // Throwing leaves the message unacknowledged for the queue to redeliver.
    for (const message of batch) {
      if (this.#shutdown.signal.aborted) throw new Error("the task worker is stopping");
      await this.#run(message);
    }
  }

  async #run(message: TaskMessage): Promise<void> {
    const { store, registry, logger, owner, leaseMs } = this.#options;
    const started = await store.start(message, owner, leaseMs);
    if (started.kind === "skip") return;
    if (started.kind === "gave_up") {
      logger.warn(
        { taskId: message.taskId, type: message.type, attempts: started.task.attempts },
        "task dead-lettered: its attempts ran out without an outcome",
      );
      this.#options.onOutcome?.({ task: started.task, outcome: "failed", durationMs: 0 });
      return;
    }
    const task = started.task;
    const since = performance.now();
    const definition = registry.get(task.type);
    const invalid = definition?.check(task.payload);
    let outcome: AttemptOutcome;
    if (!definition)
      outcome = { kind: "failed", error: `no handler for task type "${task.type}" here`, permanent: true };
    else if (invalid !== undefined) outcome = { kind: "failed", error: invalid, permanent: true };
    else
      outcome = await runAttempt(definition, task, {
        timeoutMs: definition.options.timeoutMs ?? this.#options.timeoutMs,
        shutdown: this.#shutdown.signal,
        renew: () => store.renew(task.taskId, task.attempts, owner, leaseMs),
        renewEveryMs: Math.max(100, Math.floor(leaseMs / 3)),
      });
    await this.#record(task, outcome, performance.now() - since);
  }

  async #record(task: TaskRecord, outcome: AttemptOutcome, durationMs: number): Promise<void> {
    const { store, logger } = this.#options;
    const { taskId, attempts: attempt } = task;
    switch (outcome.kind) {
      case "lost":
        logger.warn({ taskId, attempt }, "task attempt lost its lease; its outcome is not recorded");
        return;
      case "interrupted":
        await store.release(taskId, attempt);
        return;
      case "succeeded": {
        const done = await store.succeed(taskId, attempt, outcome.result);
        if (done) this.#options.onOutcome?.({ task: done, outcome: "succeeded", durationMs });
        return;
      }
      case "failed": {
        const retry = !outcome.permanent && attempt < task.maxAttempts;
        const delay = retry ? backoffDelay(attempt, this.#options.backoff) : undefined;
        const done = await store.fail(taskId, attempt, outcome.error, delay);
        if (!done) return;
        if (!retry)
          logger.warn({ taskId, type: task.type, attempt, error: outcome.error }, "task dead-lettered");
        this.#options.onOutcome?.({ task: done, outcome: retry ? "retry" : "failed", durationMs });
        return;
      }
    }
  }
}
