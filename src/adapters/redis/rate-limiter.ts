import { type RateLimitOptions, type RatePolicy, retryAfterSeconds } from "../../domain/rate-policy.ts";
import type { RateLimiter } from "../../ports/rate-limiter.ts";
import type { RedisClient } from "./connection.ts";
import { RedisKeys } from "./keys.ts";
import { isCluster, keySlot } from "./nodes.ts";
import { redisScripts, type Scripts } from "./scripts.ts";

export interface RedisRateLimiterOptions extends RateLimitOptions {
  redis: RedisClient;
  /** REDIS_PREFIX: the buckets are its rate-limit keys (keys.ts). */
  prefix: string;
  /** A check that takes longer is let through (see below). */
  timeoutMs?: number;
  /** Told about every failed or timed-out check. */
  onError?: (error: Error) => void;
}

/**
 * A limiter in Redis used on its own: buckets in Redis, one script call per
 * check (lua/rate-limit-n.lua, the GCRA of lua/includes/gcra.lua), so every
 * API process draws on the same budget. Claims do not use it: their limits
 * are decided inside the admission script, in the same call
 * (admission/admit.ts); it is for what is limited without an admission to
 * fold into (the waiting room's join). When Redis fails or is slow the
 * request is let through (fail open): what follows needs the same Redis and
 * answers 503 itself, and a limiter must not turn a Redis hiccup into
 * refusals of its own.
 */
export class RedisRateLimiter implements RateLimiter {
  readonly #scripts: Scripts;
  readonly #keys: RedisKeys;
  readonly #user: RatePolicy | undefined;
  readonly #ip: RatePolicy | undefined;
  readonly #timeoutMs: number;
  readonly #onError: (error: Error) => void;
  readonly #cluster: boolean;

  constructor(options: RedisRateLimiterOptions) {
    this.#scripts = redisScripts(options.redis);
    this.#cluster = isCluster(options.redis);
    this.#keys = new RedisKeys(options.prefix);
    this.#user = options.user;
    this.#ip = options.ip;
    this.#timeoutMs = options.timeoutMs ?? 500;
    this.#onError = options.onError ?? (() => undefined);
  }

  async check(campaignId: string, userId: string, clientIp: string): Promise<number | undefined> {
    const keys: string[] = [];
    const args: number[] = [];
    if (this.#user) {
      keys.push(this.#keys.rateLimitUser(campaignId, userId));
      args.push(this.#user.intervalMs, this.#user.burst);
    }
    if (this.#ip) {
      keys.push(this.#keys.rateLimitIp(clientIp));
      args.push(this.#ip.intervalMs, this.#ip.burst);
    }
    if (keys.length === 0) return undefined;
    let timer: NodeJS.Timeout | undefined;
    try {
      const waitMs = await Promise.race([
        this.#count(keys, args),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error("rate limiter: Redis did not answer in time")),
            this.#timeoutMs,
          );
        }),
      ]);
      return waitMs === 0 ? undefined : retryAfterSeconds(waitMs);
    } catch (error) {
      this.#onError(error as Error);
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * One script call for every bucket, or, on a Redis Cluster where the
   * buckets hash to different slots, one call per bucket in turn (a bucket
   * that refuses stops the others): "all buckets or none" then holds per
   * bucket only, a refusal by the second having counted against the first.
   */
  async #count(keys: string[], args: number[]): Promise<number> {
    if (!this.#cluster || keys.length === 1 || keySlot(keys[0]!) === keySlot(keys[1]!))
      return Number(await this.#scripts.rateLimit(keys, args));
    for (let i = 0; i < keys.length; i++) {
      const waitMs = Number(await this.#scripts.rateLimit([keys[i]!], args.slice(2 * i, 2 * i + 2)));
      if (waitMs > 0) return waitMs;
    }
    return 0;
  }
}
