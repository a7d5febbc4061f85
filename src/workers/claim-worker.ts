import type { Logger } from "pino";
import { type Claim, isFinal } from "../domain/types.ts";
import type { AdmissionStore } from "../ports/admission.ts";
import type { IssuedSink } from "../ports/delivery.ts";
import type { Ledger, WriteConflict, WriteResult } from "../ports/ledger.ts";
import type { Notifier } from "../ports/notifier.ts";
import type { Consumer, Queue } from "../ports/queue.ts";
import { resolveConflicts } from "./conflicts.ts";

/**
 * Takes claim snapshots off the queue in batches and writes them to the
 * ledger: one ledger write per batch (idempotent, monotonic: ports/ledger.ts),
 * then the status in the admission store, then a notification for waiting
 * clients, then the issued sinks. The queue acknowledges the batch only after
 * all of them, so a crash anywhere means redelivery, and redelivery is
 * harmless because the ledger applies a snapshot once and reports it again.
 *
 * A refused snapshot is resolved here before anyone hears of it
 * (./conflicts.ts): a unit freed by a hold whose end this worker has not
 * seen yet (Redis Streams with several workers reorders) is written as freed,
 * then the snapshot is retried once.
 */
export interface ClaimWorkerOptions {
  queue: Queue<Claim>;
  /** The worker only writes: write(). */
  ledger: Pick<Ledger, "write">;
  admission: AdmissionStore;
  notifier: Notifier;
  logger: Logger;
  batchSize: number;
  flushIntervalMs: number;
  now?: () => number;
  /**
   * Told of every claim of a batch the ledger holds in the final state the
   * batch asked for (issued, expired, released; redeliveries too), after the
   * ledger write and before the acknowledgement (ports/delivery.ts): the
   * webhook dispatcher's wake-up, Kafka mode's `issued` topic. A failure
   * means redelivery: at least once.
   */
  issuedSink?: IssuedSink;
  /** Observes each finished batch (metrics). */
  onBatch?: (stats: BatchStats) => void;
}

export interface BatchStats {
  size: number;
  /** Claims the ledger holds as issued after this batch (redeliveries included). */
  issued: number;
  /** Conflicts left after resolution: the ledger refused these snapshots. */
  conflicts: number;
  durationMs: number;
  /** Holds this batch moved to a final state in the ledger (redeliveries not counted again). */
  holds: HoldEnds;
}

/** Holds by how they ended: confirmed (issued), released, expired. */
export interface HoldEnds {
  confirmed: number;
  released: number;
  expired: number;
}

function holdEnds(changed: readonly Claim[]): HoldEnds {
  const ends: HoldEnds = { confirmed: 0, released: 0, expired: 0 };
  for (const claim of changed) {
    if (claim.expiresAt === undefined) continue;
    if (claim.status === "issued") ends.confirmed++;
    else if (claim.status === "released" || claim.status === "expired") ends[claim.status]++;
  }
  return ends;
}

export class ClaimWorker {
  readonly #options: ClaimWorkerOptions;
  #consumer: Consumer | undefined;

  constructor(options: ClaimWorkerOptions) {
    this.#options = options;
  }

  start(): void {
    const { queue, batchSize, flushIntervalMs } = this.#options;
    this.#consumer = queue.consume((batch) => this.write(batch), { batchSize, flushIntervalMs });
  }

  /** Writes one batch of snapshots; throws (so the queue redelivers) when a dependency fails. */
  async write(batch: Claim[]): Promise<void> {
    const { admission, notifier, logger } = this.#options;
    const started = performance.now();
    let result = await this.#write(batch);
    if (result.conflicts.length > 0) {
      result = await resolveConflicts(result, {
        write: (snapshots) => this.#write(snapshots),
        admission,
      });
      if (result.conflicts.length > 0) logConflicts(logger, result.conflicts);
    }
    const issued = result.written.filter((c) => c.status === "issued");
    await admission.markWritten(result.written);
    await notifier.publish(result.written);
    const final = result.written.filter((c) => isFinal(c.status));
    if (final.length > 0) await this.#options.issuedSink?.publish(final);
    this.#options.onBatch?.({
      size: batch.length,
      issued: issued.length,
      conflicts: result.conflicts.length,
      durationMs: performance.now() - started,
      holds: holdEnds(result.changed),
    });
  }

  async #write(snapshots: readonly Claim[]): Promise<WriteResult> {
    const now = this.#options.now ?? Date.now;
    try {
      return await this.#options.ledger.write(snapshots, now());
    } catch (error) {
      this.#options.logger.warn(
        { err: error, size: snapshots.length },
        "ledger write failed; the batch will be retried",
      );
      throw error;
    }
  }

  async stop(): Promise<void> {
    await this.#consumer?.stop();
    this.#consumer = undefined;
  }
}

/**
 * What survives resolution: admission state was wrong (e.g. a bad rebuild,
 * or a hold both confirmed and ended). The ledger refused the snapshots,
 * which is what it is for; say so loudly.
 */
function logConflicts(logger: Logger, conflicts: readonly WriteConflict[]): void {
  logger.error(
    {
      claims: conflicts.map(({ snapshot, reason, blocker }) => ({
        claimId: snapshot.claimId,
        campaignId: snapshot.campaignId,
        unit: snapshot.unit,
        status: snapshot.status,
        reason,
        blockedBy: blocker && { claimId: blocker.claimId, status: blocker.status },
      })),
    },
    "ledger refused claims: admission state was wrong (their unit or user slot is held by another claim, or the ledger holds them in another final state)",
  );
}
