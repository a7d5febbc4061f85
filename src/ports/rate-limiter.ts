/**
 * The rate-limiter seam (RATE_LIMIT_USER / RATE_LIMIT_IP): in-process in
 * embedded mode, one budget in Redis across API processes in distributed mode.
 * Claims are limited inside admission (AdmissionStore.admit: the embedded
 * store asks a limiter of this kind, the Redis store decides the limit in
 * its admission script); a limiter of its own serves whatever else must be
 * limited (the waiting room's join).
 */
export interface RateLimiter {
  /** Undefined: go on; a number: retry after that many seconds. */
  check(campaignId: string, userId: string, clientIp: string): Promise<number | undefined>;
}
