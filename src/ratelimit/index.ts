/**
 * Rate limiting of claims (SPEC: 429 after 404, before 409). Pick the limiter
 * the mode's admission lives next to: in memory for embedded, Redis for
 * distributed (one budget across API processes), and hand it to the API as
 * `ApiDeps.rateLimiter`:
 *
 *   new MemoryRateLimiter({ user: config.RATE_LIMIT_USER, ip: config.RATE_LIMIT_IP })   // close() it at shutdown
 *   new RedisRateLimiter({ redis, prefix: config.REDIS_PREFIX, user: config.RATE_LIMIT_USER,
 *                          ip: config.RATE_LIMIT_IP, onError: (err) => logger.warn({ err }, "rate limiter") })
 */
export { MemoryRateLimiter, type MemoryRateLimiterOptions } from "./memory/memory-limiter.ts";
export { parseRate, type RateLimitOptions, type RatePolicy } from "./policy.ts";
export { RedisRateLimiter, type RedisRateLimiterOptions, type ScriptClient } from "./redis/redis-limiter.ts";
