/**
 * The rate-limiter seam (RATE_LIMIT_USER / RATE_LIMIT_IP): in-process in
 * embedded mode, one budget in Redis across API processes in distributed mode.
 */
export interface RateLimiter {
  /** Undefined: go on; a number: retry after that many seconds. */
  check(campaignId: string, userId: string, clientIp: string): Promise<number | undefined>;
}
