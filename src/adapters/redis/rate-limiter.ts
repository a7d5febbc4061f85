import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { ipBucket, userBucket } from "../../domain/rate-buckets.ts";
import { type RateLimitOptions, type RatePolicy, retryAfterSeconds } from "../../domain/rate-policy.ts";
import type { RateLimiter } from "../../ports/rate-limiter.ts";

/** The only Redis commands this limiter uses (an ioredis client fits). */
export interface ScriptClient {
  evalsha(sha: string, numkeys: number, ...args: (string | number)[]): Promise<unknown>;
  eval(script: string, numkeys: number, ...args: (string | number)[]): Promise<unknown>;
}

export interface RedisRateLimiterOptions extends RateLimitOptions {
  redis: ScriptClient;
  /** Every key starts with `${prefix}:rl:` (REDIS_PREFIX). */
  prefix: string;
  /** A check that takes longer is let through (see below). */
  timeoutMs?: number;
  /** Told about every failed or timed-out check. */
  onError?: (error: Error) => void;
}

const SCRIPT = readFileSync(new URL("./lua/gcra.lua", import.meta.url), "utf8");
const SHA = createHash("sha1").update(SCRIPT).digest("hex");

/**
 * The distributed mode's limiter: buckets in Redis, one script call per
 * claim, so every API process draws on the same budget. When Redis fails or
 * is slow the claim is let through (fail open): admission needs the same
 * Redis and answers 503 itself, and a limiter must not turn a Redis hiccup
 * into refusals of its own.
 */
export class RedisRateLimiter implements RateLimiter {
  readonly #redis: ScriptClient;
  readonly #prefix: string;
  readonly #user: RatePolicy | undefined;
  readonly #ip: RatePolicy | undefined;
  readonly #timeoutMs: number;
  readonly #onError: (error: Error) => void;

  constructor(options: RedisRateLimiterOptions) {
    this.#redis = options.redis;
    this.#prefix = `${options.prefix}:rl:`;
    this.#user = options.user;
    this.#ip = options.ip;
    this.#timeoutMs = options.timeoutMs ?? 500;
    this.#onError = options.onError ?? (() => undefined);
  }

  async check(campaignId: string, userId: string, clientIp: string): Promise<number | undefined> {
    const keys: string[] = [];
    const args: (string | number)[] = [];
    if (this.#user) {
      keys.push(this.#prefix + userBucket(campaignId, userId));
      args.push(this.#user.intervalMs, this.#user.burst);
    }
    if (this.#ip) {
      keys.push(this.#prefix + ipBucket(clientIp));
      args.push(this.#ip.intervalMs, this.#ip.burst);
    }
    if (keys.length === 0) return undefined;
    let timer: NodeJS.Timeout | undefined;
    try {
      const waitMs = await Promise.race([
        this.#run(keys, args),
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

  /** EVALSHA, and EVAL when Redis lost its script cache (a restart or failover). */
  async #run(keys: string[], args: (string | number)[]): Promise<number> {
    try {
      return Number(await this.#redis.evalsha(SHA, keys.length, ...keys, ...args));
    } catch (error) {
      if (!String((error as Error).message).startsWith("NOSCRIPT")) throw error;
      return Number(await this.#redis.eval(SCRIPT, keys.length, ...keys, ...args));
    }
  }
}
