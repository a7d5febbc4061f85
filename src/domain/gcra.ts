import type { RatePolicy } from "./rate-policy.ts";

/**
 * GCRA, the arithmetic both limiters share (adapters/redis/lua/rate-limit-n.lua is the same steps
 * in Lua). A bucket is one number, its theoretical arrival time (TAT): the
 * moment it would be empty again if nothing more came. A request is allowed
 * when, after adding one interval, the TAT is at most `burst` intervals ahead
 * of now. A refused request changes nothing, so hammering does not lengthen
 * the wait of a client that then behaves.
 */
export interface GcraStep {
  /** 0 when allowed, else ms until a retry could be allowed. */
  waitMs: number;
  /** The bucket's TAT if this request is counted. */
  nextTat: number;
}

/**
 * Waits shorter than this (ms) are rounding, not a refusal: TATs are sums of
 * fractional intervals on a fractional clock (and Redis keeps them to 3
 * decimals), so the last request of a burst can land a hair past allowAt.
 */
export const GCRA_TOLERANCE_MS = 0.001;

export function gcraStep(storedTat: number | undefined, now: number, policy: RatePolicy): GcraStep {
  const tat = storedTat === undefined || storedTat < now ? now : storedTat;
  const nextTat = tat + policy.intervalMs;
  const allowAt = nextTat - policy.burst * policy.intervalMs;
  return { waitMs: allowAt - now > GCRA_TOLERANCE_MS ? allowAt - now : 0, nextTat };
}
