import type { Campaign } from "../domain/types.ts";
import type { ReleaseResult, WaitingRoomStore } from "../ports/waiting-room.ts";

export interface LineReleaserOptions {
  store: WaitingRoomStore;
  /** The campaigns to look at (those without a waiting room are skipped). */
  campaigns: () => Promise<readonly Campaign[]>;
  /** The clock that says a campaign has started: the mode's one clock (Redis TIME in distributed mode). */
  now?: () => number | Promise<number>;
  /**
   * How often run() is called (RELEASE_INTERVAL_MS): a room with
   * releasePerSecond may release up to two runs' worth at once, to make up
   * for a late timer, never more.
   */
  intervalMs: number;
  /** At most this many tickets per campaign and run, so a run stays short (default 5,000). */
  maxPerRun?: number;
  /** Told after each release that admitted tickets or changed the sold-out flag. */
  onRelease?: (campaignId: string, result: ReleaseResult) => void;
}

/** A room's budget: releasePerSecond spread over the runs. */
interface Bucket {
  tokens: number;
  at: number;
}

/**
 * The waiting rooms' releaser, for every mode (docs/api.md "Release"): each
 * run, for each waiting-room campaign from its startsAt, asks the store to
 * release as many tickets as the room's releasePerSecond allows since the
 * last run (a token bucket; without it, up to `maxPerRun`). The store admits
 * at most the free units, in line order, and sets or clears the sold-out
 * flag; it is called with a budget of 0 too, so that the flag follows the
 * stock when nothing can be released. Stateless but for the buckets: after a
 * restart it resumes from the store's line.
 */
export class LineReleaser {
  readonly #o: LineReleaserOptions;
  readonly #maxPerRun: number;
  readonly #buckets = new Map<string, Bucket>();
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
      const budget = this.#budget(campaign.id, room.releasePerSecond ?? null, now);
      const result = await this.#o.store.release(campaign.id, budget);
      this.#spend(campaign.id, result.admitted.length);
      const flagChanged = (this.#soldOut.get(campaign.id) ?? false) !== result.soldOut;
      this.#soldOut.set(campaign.id, result.soldOut);
      if (result.admitted.length > 0 || flagChanged) this.#o.onRelease?.(campaign.id, result);
    }
  }

  #budget(campaignId: string, perSecond: number | null, now: number): number {
    if (perSecond === null) return this.#maxPerRun;
    const cap = Math.max(1, (perSecond * 2 * this.#o.intervalMs) / 1000);
    let bucket = this.#buckets.get(campaignId);
    if (!bucket) {
      bucket = { tokens: Math.min(cap, Math.max(1, (perSecond * this.#o.intervalMs) / 1000)), at: now };
      this.#buckets.set(campaignId, bucket);
    } else {
      bucket.tokens = Math.min(cap, bucket.tokens + (Math.max(0, now - bucket.at) * perSecond) / 1000);
      bucket.at = now;
    }
    return Math.min(this.#maxPerRun, Math.floor(bucket.tokens));
  }

  #spend(campaignId: string, released: number): void {
    const bucket = this.#buckets.get(campaignId);
    if (bucket) bucket.tokens = Math.max(0, bucket.tokens - released);
  }
}
