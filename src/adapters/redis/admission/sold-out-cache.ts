import type { Redis } from "ioredis";
import type { Logger } from "pino";
import { PeriodicTask } from "../../../workers/periodic-task.ts";
import type { RedisKeys } from "../keys.ts";
import { redisScripts, type Scripts } from "../scripts.ts";

/** How long an entry is trusted after the Redis read that last confirmed it. */
export const CACHE_LEASE_MS = 1000;
const REFRESH_MS = 250;
const CLOCK_SKEW_MS = 2000;

export interface HolderRef {
  claimId: string;
  admittedAt: number;
  seq: number;
}

interface Entry {
  epoch: string;
  rev: string;
  validUntil: number;
  endsAt: number | null;
  allIssued: boolean;
  /** userId -> the most recent claim of a user at the limit; null: a holder below the limit. */
  holders: Map<string, HolderRef | null> | undefined;
}

export type CachedAnswer = { kind: "sold_out" } | { kind: "holder"; holder: HolderRef };

export interface SoldOutCacheOptions {
  redis: Redis;
  keys: RedisKeys;
  logger: Logger;
  /** Campaigns with more holders are not cached; 0 turns the cache off. */
  maxHolders: number;
}

/**
 * What one API process remembers about sold-out campaigns, so that once the
 * stock is gone a rejection costs no Redis round trip. It may only ever be
 * wrong in the safe direction:
 *
 * - It never answers 410 while stock remains. An entry is a lease: valid for
 *   LEASE ms after the Redis read that last confirmed it (same epoch, same
 *   rev, still open and sold out), renewed every REFRESH ms. Whatever makes
 *   units available again (a rebuild after a Redis loss; raising the stock)
 *   changes the state first and waits a full lease before it admits, so by
 *   then no process still trusts an entry read before the change.
 * - It never answers 410 to a holder. Sold out (at one epoch and rev) is
 *   final, so the holders read with the snapshot are final too, and at most
 *   `stock` many: a holder is answered 409 from here only once every claim
 *   is issued (before that the claim's status could be stale, so Redis
 *   answers). Campaigns with more holders than `maxHolders` are not cached.
 * - Near `endsAt` (within the clock skew margin) it steps aside: 403 comes
 *   before 410 in the contract's order, and Redis' clock decides.
 * - Requests with an Idempotency-Key always go to Redis, which remembers
 *   the first answer.
 */
export class SoldOutCache {
  readonly #redis: Redis;
  readonly #keys: RedisKeys;
  readonly #scripts: Scripts;
  readonly #maxHolders: number;
  readonly #entries = new Map<string, Entry>();
  readonly #loading = new Set<string>();
  readonly #refresher: PeriodicTask;

  constructor(options: SoldOutCacheOptions) {
    this.#redis = options.redis;
    this.#keys = options.keys;
    this.#scripts = redisScripts(options.redis);
    this.#maxHolders = options.maxHolders;
    this.#refresher = new PeriodicTask({
      intervalMs: REFRESH_MS,
      run: () => this.#refresh(),
      logger: options.logger,
      failureMessage: "sold-out cache refresh failed",
      unref: true,
    });
    this.#refresher.start();
  }

  /** The cached answer for a keyless claim, or undefined: ask Redis. */
  lookup(campaignId: string, userId: string, now: number): CachedAnswer | undefined {
    const entry = this.#entries.get(campaignId);
    if (!entry || performance.now() >= entry.validUntil) return undefined;
    if (entry.endsAt !== null && now >= entry.endsAt - CLOCK_SKEW_MS) return undefined;
    if (!entry.holders) return undefined;
    const holder = entry.holders.get(userId);
    if (holder === undefined) return { kind: "sold_out" };
    return holder && entry.allIssued ? { kind: "holder", holder } : undefined;
  }

  /** Redis just answered SOLD_OUT for this campaign: load a snapshot (once) for the requests to come. */
  soldOut(campaignId: string): void {
    if (this.#maxHolders <= 0 || this.#entries.has(campaignId) || this.#loading.has(campaignId)) return;
    this.#loading.add(campaignId);
    void this.#load(campaignId).finally(() => this.#loading.delete(campaignId));
  }

  /** Forget a campaign at once (its state changed under this process). */
  drop(campaignId: string): void {
    this.#entries.delete(campaignId);
  }

  get size(): number {
    return this.#entries.size;
  }

  async close(): Promise<void> {
    await this.#refresher.stop();
    this.#entries.clear();
  }

  async #load(campaignId: string): Promise<void> {
    const k = this.#keys.campaign(campaignId);
    const sentAt = performance.now();
    let snap: (string | number)[];
    try {
      snap = (await this.#scripts.soldOutSnapshot([k.state, k.holders], [this.#maxHolders])) as (
        | string
        | number
      )[];
    } catch {
      return;
    }
    if (snap[0] !== 1) return;
    const [, epoch, rev, admitted, issued, endsAt, perUser, withHolders] = snap;
    let holders: Map<string, HolderRef | null> | undefined;
    if (withHolders === 1) {
      holders = new Map();
      for (let i = 8; i + 1 < snap.length; i += 2) {
        const entries = String(snap[i + 1]).split(",");
        // A user holding fewer than perUser claims is no 409 (the contract's order goes on to 410);
        // null sends such a (rare) user to Redis.
        const [claimId, at, seq] = entries.at(-1)!.split(":");
        holders.set(
          String(snap[i]),
          entries.length >= Number(perUser)
            ? { claimId: claimId!, admittedAt: Number(at), seq: Number(seq) }
            : null,
        );
      }
    }
    this.#entries.set(campaignId, {
      epoch: String(epoch),
      rev: String(rev),
      validUntil: sentAt + CACHE_LEASE_MS,
      endsAt: endsAt === "" || endsAt === undefined ? null : Number(endsAt),
      allIssued: Number(issued) >= Number(admitted),
      holders,
    });
  }

  async #refresh(): Promise<void> {
    if (this.#entries.size === 0) return;
    const sentAt = performance.now();
    const ids = [...this.#entries.keys()];
    const reads = ids.map((id) =>
      this.#redis
        .hmget(this.#keys.campaign(id).state, "status", "hold", "epoch", "rev", "admitted", "stock", "issued")
        .catch(() => undefined),
    );
    const states = await Promise.all(reads);
    ids.forEach((id, i) => {
      const entry = this.#entries.get(id);
      const s = states[i];
      if (!entry || !s) return; // unanswered: the lease runs out on its own
      const [status, hold, epoch, rev, admitted, stock, issued] = s;
      if (status !== "open" || hold !== null || epoch !== entry.epoch || rev !== entry.rev) {
        this.#entries.delete(id);
        return;
      }
      if (Number(admitted) < Number(stock)) {
        this.#entries.delete(id);
        return;
      }
      entry.validUntil = sentAt + CACHE_LEASE_MS;
      entry.allIssued = Number(issued) >= Number(admitted);
    });
  }
}
