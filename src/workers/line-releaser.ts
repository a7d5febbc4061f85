import type { Campaign } from "../domain/types.ts";
import type { ReleaseResult, WaitingRoomStore } from "../ports/waiting-room.ts";

export interface LineReleaserOptions {
  store: WaitingRoomStore;
  /** The campaigns to look at (those without a waiting room are skipped). */
  campaigns: () => Promise<readonly Campaign[]>;
  /** The clock that says a campaign has started: the mode's one clock (Redis TIME in distributed mode). */
  now?: () => number | Promise<number>;
  /** At most this many tickets per campaign and run, so a run stays short (default 5,000). */
  maxPerRun?: number;
  /** Told after each release that admitted tickets or changed the sold-out flag. */
  onRelease?: (campaignId: string, result: ReleaseResult) => void;
}

/**
 * The embedded waiting rooms' releaser (docs/api.md "Release"): each run,
 * for each waiting-room campaign from its startsAt, asks the store to
 * release up to `maxPerRun` tickets. The store admits at most the free
 * units and at most what the room's releasePerSecond allows (its own token
 * bucket, so the rate holds whoever calls: ports/waiting-room.ts), in line
 * order, and sets or clears the sold-out flag, also when it releases
 * nothing. Stateless but for the flags it last reported: after a restart it
 * resumes from the store's line.
 */
export class LineReleaser {
  readonly #o: LineReleaserOptions;
  readonly #maxPerRun: number;
  readonly #soldOut = new Map<string, boolean>();

  constructor(options: LineReleaserOptions) {
    this.#o = options;
    this.#maxPerRun = options.maxPerRun ?? 5000;
  }

  /** One pass over the campaigns. */
  async run(): Promise<void> {
    const now = await (this.#o.now ?? Date.now)();
    for (const campaign of await this.#o.campaigns()) {
      const room = campaign.waitingRoom;
      if (!room || campaign.startsAt === null || now < campaign.startsAt) continue;
      const result = await this.#o.store.release(campaign.id, this.#maxPerRun);
      const flagChanged = (this.#soldOut.get(campaign.id) ?? false) !== result.soldOut;
      this.#soldOut.set(campaign.id, result.soldOut);
      if (result.admitted.length > 0 || flagChanged) this.#o.onRelease?.(campaign.id, result);
    }
  }
}
