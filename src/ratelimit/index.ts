/**
 * Rate limiting of claims (SPEC: 429 after 404, before 409). Pick the limiter
 * the mode's admission lives next to: in memory for embedded, Redis for
 * distributed (one budget across API processes).
 */
export { MemoryRateLimiter, type MemoryRateLimiterOptions } from "./memory/memory-limiter.ts";
export { parseRate, type RateLimitOptions, type RatePolicy } from "./policy.ts";
export { RedisRateLimiter, type RedisRateLimiterOptions, type ScriptClient } from "./redis/redis-limiter.ts";
