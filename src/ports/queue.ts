/**
 * The queue seam. Workers consume batches; a batch is acknowledged only when
 * its handler resolves, so a crash mid-batch means redelivery (at least once),
 * never loss. The ledger's unique keys make redelivery harmless.
 *
 * Producing differs by mode and stays behind AdmissionStore for claims (the
 * embedded journal, the Redis admission script, the Kafka producer);
 * `publish` is for payloads that have no admission step, like tasks.
 */
export type BatchHandler<T> = (batch: T[]) => Promise<void>;

export interface ConsumeOptions {
  /** Most messages handed to one handler call. */
  batchSize: number;
  /** How long to wait for a batch to fill once it holds one message. */
  flushIntervalMs: number;
  /**
   * Batches the handler may be working on at once (default 1). Each is
   * acknowledged when its own handler resolves; a queue whose
   * acknowledgement covers everything before it (Kafka's offsets) never
   * acknowledges past a batch still running. The task worker runs
   * TASK_CONCURRENCY tasks this way, so a slow one holds up no other.
   */
  concurrency?: number;
}

export interface QueueLag {
  /** Partition, stream or "memory". */
  source: string;
  /** Messages not yet acknowledged by the consumer group. */
  lag: number;
  /**
   * Set when the queue has one source per campaign (Redis Streams): what
   * those sources make up together (their consumer group). /metrics sums
   * them into one series labelled by it, unless METRICS_CAMPAIGN_LABELS=true:
   * campaigns come and go, and a label value each would grow without bound.
   */
  group?: string;
}

export interface Consumer {
  /** Stops taking new batches and waits for the batch in hand to finish. */
  stop(): Promise<void>;
}

export interface Queue<T> {
  publish(values: readonly T[]): Promise<void>;
  consume(handler: BatchHandler<T>, options: ConsumeOptions): Consumer;
  lag(): Promise<QueueLag[]>;
  ping(): Promise<void>;
  close(): Promise<void>;
}
