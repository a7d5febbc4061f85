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

export function gcraStep(storedTat: number | undefined, now: number, policy: RatePolicy): GcraStep {
  const tat = storedTat === undefined || storedTat < now ? now : storedTat;
  const nextTat = tat + policy.intervalMs;
  // From the TAT's lead over now, not from (now + interval) - burst * interval: with
  // fractional clocks (performance.now()) that sum can round a hair above now, which
  // refused the first request of a fresh bucket with a burst of 1 (e.g. 1/s).
  const waitMs = tat - now + policy.intervalMs - policy.burst * policy.intervalMs;
  return { waitMs: Math.max(waitMs, 0), nextTat };
}
