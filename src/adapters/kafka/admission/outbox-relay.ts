import type { Logger } from "pino";
import type { Claim } from "../../../domain/types.ts";
import { PeriodicTask } from "../../../workers/periodic-task.ts";
import type { Outbox } from "./outbox.ts";

export interface OutboxRelayOptions {
  outbox: Outbox;
  publish: (claims: Claim[]) => Promise<void>;
  logger: Logger;
  /** Reservations younger than this are left to the API process that made them. */
  leaseMs: number;
  intervalMs: number;
  /** Most claims taken from one campaign per pass. */
  batchSize?: number;
  /** Counts the claims this relay sent (metrics). */
  onRelayed?: (count: number) => void;
}

/**
 * Sends to Kafka the reservations no API process is waiting on any more:
 * outbox entries older than the lease (their API process died between the
 * reservation and the acknowledgement, or Kafka did not answer it in time).
 * Each pass leases what it takes (outbox-take-2.lua), produces it, and
 * removes it from the outbox once Kafka acknowledged; what fails stays and is
 * taken again after another lease. Runs in worker processes; several relays
 * at once only risk sending a claim twice, which the ledger ignores.
 */
export class OutboxRelay {
  readonly #o: OutboxRelayOptions;
  readonly #loop: PeriodicTask;

  constructor(options: OutboxRelayOptions) {
    this.#o = options;
    this.#loop = new PeriodicTask({
      intervalMs: options.intervalMs,
      run: () => this.pass(),
      logger: options.logger,
      failureMessage: "outbox relay pass failed; retrying later",
    });
  }

  /** Passes every `intervalMs` until stop(). */
  start(): void {
    this.#loop.start();
  }

  stop(): Promise<void> {
    return this.#loop.stop();
  }

  /** One pass over every campaign's outbox; returns how many claims were sent. */
  async pass(): Promise<number> {
    const { outbox, leaseMs, logger } = this.#o;
    const limit = this.#o.batchSize ?? 1000;
    let sent = 0;
    for (const campaignId of await outbox.campaigns()) {
      for (;;) {
        const claims = await outbox.take(campaignId, leaseMs, limit);
        if (claims.length === 0) break;
        await this.#o.publish(claims);
        await outbox.remove(claims);
        sent += claims.length;
        logger.info(
          { campaignId, claims: claims.length },
          "relayed reservations to Kafka that no API process had sent",
        );
        if (claims.length < limit) break;
      }
    }
    if (sent > 0) this.#o.onRelayed?.(sent);
    return sent;
  }
}
