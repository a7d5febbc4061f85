import type { Logger } from "pino";
import type { ReleaseResult } from "../../ports/waiting-room.ts";
import { PeriodicTask } from "../../workers/periodic-task.ts";
import { campaignPass } from "./campaign-pass.ts";

export interface RoomReleaserOptions {
  /** The campaigns with a waiting room (RedisWaitingRoom.campaigns: a registry set in Redis). */
  campaigns: () => Promise<string[]>;
  /** One release of a campaign's line (WaitingRoomStore.release; in Kafka mode KafkaWaitingRoom's). */
  release: (campaignId: string, max: number) => Promise<ReleaseResult>;
  /** How often each worker releases (default 100 ms: the delay from startsAt to the first release). */
  intervalMs?: number;
  /** Most tickets one script call releases (default 200: about 5 ms of Redis). */
  batch?: number;
  /** Calls per campaign and tick while each releases tickets (default 20). */
  maxCallsPerTick?: number;
  logger: Logger;
}

export const RELEASER_DEFAULTS = { intervalMs: 100, batch: 200, maxCallsPerTick: 20 } as const;

/**
 * Moves the waiting rooms' lines in distributed mode (docs/api.md "Waiting
 * room", "Release"): every `intervalMs`, in every worker process, each
 * campaign with a waiting room gets a release (room-release-8.lua: up to
 * `batch` tickets from the head, each admitted exactly as a claim, in one
 * atomic step). While calls release tickets (no releasePerSecond: as fast
 * as admission allows) the tick calls again, up to `maxCallsPerTick`.
 *
 * Nothing is kept in memory, and nothing needs a leader: the line's head,
 * the budget of releasePerSecond (a token bucket) and the sold-out mark are
 * in the campaign's state hash, so several workers releasing at once share
 * one budget, never release a ticket twice nor out of order, and a worker
 * killed mid-release leaves either the whole call done or none of it; any
 * worker's next tick goes on from the head.
 */
export class RoomReleaser {
  readonly #o: RoomReleaserOptions & { intervalMs: number; batch: number; maxCallsPerTick: number };
  readonly #loop: PeriodicTask;

  constructor(options: RoomReleaserOptions) {
    this.#o = {
      ...options,
      intervalMs: options.intervalMs ?? RELEASER_DEFAULTS.intervalMs,
      batch: options.batch ?? RELEASER_DEFAULTS.batch,
      maxCallsPerTick: options.maxCallsPerTick ?? RELEASER_DEFAULTS.maxCallsPerTick,
    };
    this.#loop = new PeriodicTask({
      intervalMs: this.#o.intervalMs,
      run: () => this.pass(),
      logger: options.logger,
      failureMessage: "waiting room release failed; retrying at the next interval",
    });
  }

  start(): void {
    this.#loop.start();
  }

  stop(): Promise<void> {
    return this.#loop.stop();
  }

  /** One pass over every campaign with a waiting room; returns how many tickets it released. */
  async pass(): Promise<number> {
    return campaignPass(
      await this.#o.campaigns(),
      (id) => this.#releaseCampaign(id),
      this.#o.logger,
      "could not release a waiting room's tickets",
    );
  }

  async #releaseCampaign(campaignId: string): Promise<number> {
    const { batch, maxCallsPerTick } = this.#o;
    let released = 0;
    for (let call = 0; call < maxCallsPerTick; call++) {
      const { admitted } = await this.#o.release(campaignId, batch);
      released += admitted.length;
      if (admitted.length === 0) break;
    }
    if (released > 0) this.#o.logger.debug({ campaignId, released }, "waiting room tickets released");
    return released;
  }
}
