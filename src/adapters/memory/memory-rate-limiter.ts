import { gcraStep } from "../../domain/gcra.ts";
import { ipBucket, userBucket } from "../../domain/rate-buckets.ts";
import { type RateLimitOptions, type RatePolicy, retryAfterSeconds } from "../../domain/rate-policy.ts";
import type { RateLimiter } from "../../ports/rate-limiter.ts";

export interface MemoryRateLimiterOptions extends RateLimitOptions {
  /** Monotonic clock in ms; tests pass their own. */
  now?: () => number;
  /** How often buckets that have drained are forgotten. */
  sweepIntervalMs?: number;
  /** A sweep runs early when this many buckets are held (a spike of distinct users). */
  maxBuckets?: number;
}

/**
 * The embedded mode's limiter: buckets in a Map inside the one process that
 * decides every claim (MemoryAdmission asks it; anything else may too). A bucket whose TAT has passed is as good as absent, so
 * a periodic sweep drops those and memory stays bounded by the users active
 * in the last `burst` intervals.
 */
export class MemoryRateLimiter implements RateLimiter {
  readonly #user: RatePolicy | undefined;
  readonly #ip: RatePolicy | undefined;
  readonly #now: () => number;
  readonly #maxBuckets: number;
  readonly #tats = new Map<string, number>();
  readonly #timer: NodeJS.Timeout;

  constructor(options: MemoryRateLimiterOptions) {
    this.#user = options.user;
    this.#ip = options.ip;
    this.#now = options.now ?? (() => performance.now());
    this.#maxBuckets = options.maxBuckets ?? 1_000_000;
    this.#timer = setInterval(() => this.sweep(), options.sweepIntervalMs ?? 10_000);
    this.#timer.unref();
  }

  async check(campaignId: string, userId: string, clientIp: string): Promise<number | undefined> {
    const waitMs = this.take(campaignId, userId, clientIp);
    return waitMs === 0 ? undefined : retryAfterSeconds(waitMs);
  }

  /** The same decision in ms, synchronous: 0 = allowed (and counted). */
  take(campaignId: string, userId: string, clientIp: string): number {
    const now = this.#now();
    const buckets: [string, RatePolicy][] = [];
    if (this.#user) buckets.push([userBucket(campaignId, userId), this.#user]);
    if (this.#ip) buckets.push([ipBucket(clientIp), this.#ip]);
    let waitMs = 0;
    const next: number[] = [];
    for (const [key, policy] of buckets) {
      const step = gcraStep(this.#tats.get(key), now, policy);
      waitMs = Math.max(waitMs, step.waitMs);
      next.push(step.nextTat);
    }
    // All or nothing: a request refused by one bucket is not counted by another.
    if (waitMs > 0) return waitMs;
    if (this.#tats.size >= this.#maxBuckets) this.sweep();
    for (const [i, [key]] of buckets.entries()) this.#tats.set(key, next[i]!);
    return 0;
  }

  /** Forgets buckets that have drained; returns how many are left. */
  sweep(): number {
    const now = this.#now();
    for (const [key, tat] of this.#tats) if (tat <= now) this.#tats.delete(key);
    return this.#tats.size;
  }

  get size(): number {
    return this.#tats.size;
  }

  close(): void {
    clearInterval(this.#timer);
  }
}
