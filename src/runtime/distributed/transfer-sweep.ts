import type { Logger } from "pino";
import { PeriodicTask } from "../../workers/periodic-task.ts";

export interface TransferSweepOptions {
  /** Applies every campaign's transfers left unsettled (RedisAdmission.settleTransfers); units landed. */
  settle: () => Promise<number>;
  intervalMs?: number;
  logger: Logger;
}

/**
 * Completes transfers between the shards of a hot campaign (docs/scaling.md
 * "Hot campaign: shards") that an API process left half-done: it gave units
 * out of a donor shard and died before the receiving shard applied them.
 * Each pass, in every worker, applies every transfer record older than a
 * moment (admission/shards.ts settle); applying is idempotent, so workers
 * racing each other or a live API process are harmless. Until then the units
 * are in transit: nobody is answered 410 for them (the sold-out check sees
 * the record), and the campaign's `remaining` still counts them.
 */
export class TransferSweep {
  readonly #loop: PeriodicTask;

  constructor(options: TransferSweepOptions) {
    const { settle, logger } = options;
    this.#loop = new PeriodicTask({
      intervalMs: options.intervalMs ?? 1000,
      run: async () => {
        const landed = await settle();
        if (landed > 0) logger.info({ landed }, "applied transfers between shards left unsettled");
      },
      logger,
      failureMessage: "transfer sweep failed; retrying at the next interval",
    });
  }

  start(): void {
    this.#loop.start();
  }

  stop(): Promise<void> {
    return this.#loop.stop();
  }
}
