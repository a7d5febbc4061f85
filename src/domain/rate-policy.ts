import { ConfigError } from "../config/settings.ts";

/**
 * A rate as operators write it: `5/s` (five a second, five at once),
 * `300/m:20` (300 a minute, at most 20 at once), or `off`.
 *
 * It is enforced as GCRA (a token bucket kept as one timestamp): one request
 * per `intervalMs` on average, with up to `burst` back to back.
 */
export interface RatePolicy {
  /** Average spacing of requests, in ms (period / count). */
  intervalMs: number;
  /** How many may come at once after a quiet spell. */
  burst: number;
  /** The text it was parsed from, for --help and logs. */
  text: string;
}

const PERIODS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000 };
const RATE = /^(\d{1,7})\/(s|m|h)(?::(\d{1,7}))?$/;

export function parseRate(raw: string, name: string): RatePolicy | undefined {
  const text = raw.trim();
  if (text === "" || text === "off" || text === "0") return undefined;
  const match = RATE.exec(text);
  if (!match) throw new ConfigError(name, `expected a rate like 5/s, 300/m:20 or off, got "${raw}"`);
  const count = Number(match[1]);
  const burst = match[3] === undefined ? count : Number(match[3]);
  if (count < 1 || burst < 1) throw new ConfigError(name, `count and burst must be at least 1, got "${raw}"`);
  return { intervalMs: PERIODS[match[2]!]! / count, burst, text };
}

/** The limits a mode enforces on claims; an absent policy is off. */
export interface RateLimitOptions {
  /** Per campaign and userId. */
  user?: RatePolicy;
  /** Per client address, across campaigns. */
  ip?: RatePolicy;
}

/** Converts a wait in ms to the whole seconds of a Retry-After header (at least 1). */
export const retryAfterSeconds = (waitMs: number): number => Math.max(1, Math.ceil(waitMs / 1000));
