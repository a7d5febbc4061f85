import type { Logger } from "pino";
import type { ReapResult } from "../../ports/admission.ts";
import { PeriodicTask } from "../../workers/periodic-task.ts";
import { campaignPass } from "./campaign-pass.ts";

export interface HoldReaperOptions {
  /** The campaigns with holds (RedisAdmission.holdCampaigns: a registry set in Redis). */
  campaigns: () => Promise<string[]>;
  /** Expires a campaign's due holds (AdmissionStore.reapExpired; in Kafka mode KafkaAdmission's). */
  reap: (campaignId: string) => Promise<ReapResult>;
  /** HOLD_REAP_INTERVAL_MS. */
  intervalMs: number;
  logger: Logger;
}

/**
 * Expires holds on time in distributed mode (docs/api.md "Holds"): every
 * HOLD_REAP_INTERVAL_MS, in every worker process, each campaign with holds
 * gets one reap (reap-6.lua: due holds by their stored expiresAt, Redis
 * TIME), so a hold expires within an interval of its time even with no
 * claims coming (admission also reaps a campaign's due holds before it
 * decides). Nothing is kept in memory: a worker killed or restarted loses
 * nothing, any worker's next pass expires what is due. Several workers
 * reaping at once are harmless: the script is atomic, a hold expires once.
 * One pass reaps every campaign at once (auto-pipelined: one round trip);
 * a campaign without due holds costs one sorted-set lookup.
 */
export class HoldReaper {
  readonly #o: HoldReaperOptions;
  readonly #loop: PeriodicTask;

  constructor(options: HoldReaperOptions) {
    this.#o = options;
    this.#loop = new PeriodicTask({
      intervalMs: options.intervalMs,
      run: () => this.pass(),
      logger: options.logger,
      failureMessage: "hold reaper pass failed; retrying at the next interval",
    });
  }

  start(): void {
    this.#loop.start();
  }

  stop(): Promise<void> {
    return this.#loop.stop();
  }

  /** One pass over every campaign with holds; returns how many holds it expired. */
  async pass(): Promise<number> {
    const expired = await campaignPass(
      await this.#o.campaigns(),
      async (id) => (await this.#o.reap(id)).expired.length,
      this.#o.logger,
      "could not reap expired holds",
    );
    if (expired > 0) this.#o.logger.debug({ expired }, "holds expired");
    return expired;
  }
}
