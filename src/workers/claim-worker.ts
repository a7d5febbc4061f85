import type { Logger } from "pino";
import type { Claim } from "../domain/types.ts";
import type { AdmissionStore } from "../ports/admission.ts";
import type { IssuedSink } from "../ports/delivery.ts";
import type { Ledger } from "../ports/ledger.ts";
import type { Notifier } from "../ports/notifier.ts";
import type { Consumer, Queue } from "../ports/queue.ts";

/**
 * Takes admitted claims off the queue in batches and issues them: one ledger
 * transaction per batch (idempotent), then the status in the admission store,
 * then a notification for waiting clients. The queue acknowledges the batch
 * only after all three, so a crash anywhere means redelivery, and redelivery
 * is harmless because the ledger's unique keys decide.
 */
export interface ClaimWorkerOptions {
  queue: Queue<Claim>;
  /** The worker only writes: issue(). */
  ledger: Pick<Ledger, "issue">;
  admission: AdmissionStore;
  notifier: Notifier;
  logger: Logger;
  batchSize: number;
  flushIntervalMs: number;
  now?: () => number;
  /**
   * Told of every batch issued, after the ledger write and before the
   * acknowledgement (ports/delivery.ts): the webhook dispatcher's wake-up,
   * Kafka mode's `issued` topic. A failure means redelivery: at least once.
   */
  issuedSink?: IssuedSink;
  /** Observes each finished batch (metrics). */
  onBatch?: (stats: BatchStats) => void;
}

export interface BatchStats {
  size: number;
  issued: number;
  conflicts: number;
  durationMs: number;
}

export class ClaimWorker {
  readonly #options: ClaimWorkerOptions;
  #consumer: Consumer | undefined;

  constructor(options: ClaimWorkerOptions) {
    this.#options = options;
  }

  start(): void {
    const { queue, batchSize, flushIntervalMs } = this.#options;
    this.#consumer = queue.consume((batch) => this.issue(batch), { batchSize, flushIntervalMs });
  }

  /** Issues one batch; throws (so the queue redelivers) when a dependency fails. */
  async issue(batch: Claim[]): Promise<void> {
    const { ledger, admission, notifier, logger } = this.#options;
    const now = this.#options.now ?? Date.now;
    const started = performance.now();
    let result: Awaited<ReturnType<Ledger["issue"]>>;
    try {
      result = await ledger.issue(batch, now());
    } catch (error) {
      logger.warn({ err: error, size: batch.length }, "ledger write failed; the batch will be retried");
      throw error;
    }
    if (result.conflicts.length > 0) {
      // Another claim already holds these units or user slots: admission
      // state was wrong (e.g. a bad rebuild). The ledger refused them, which
      // is what it is for; say so loudly.
      logger.error(
        {
          claims: result.conflicts.map((c) => ({
            claimId: c.claimId,
            campaignId: c.campaignId,
            unit: c.unit,
          })),
        },
        "ledger refused claims whose unit or user slot is held by another claim",
      );
    }
    await admission.markIssued(result.issued);
    await notifier.publish(result.issued);
    if (result.issued.length > 0) await this.#options.issuedSink?.publish(result.issued);
    this.#options.onBatch?.({
      size: batch.length,
      issued: result.issued.length,
      conflicts: result.conflicts.length,
      durationMs: performance.now() - started,
    });
  }

  async stop(): Promise<void> {
    await this.#consumer?.stop();
    this.#consumer = undefined;
  }
}
