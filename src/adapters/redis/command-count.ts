import type { Redis } from "ioredis";

/**
 * Counts every command a client sends to Redis, where ioredis sends it: each
 * command, auto-pipelined or not, passes through the client's sendCommand
 * (a pipeline sends its commands one by one through it, an EVALSHA that comes
 * back NOSCRIPT is sent again as EVAL and counts twice). What it gives is
 * what INFO commandstats gives, but per process and per connection, which a
 * Redis shared by many processes cannot: `stampede_redis_commands_total`
 * (ops/metrics/metrics.ts), and the bench's "Redis commands per admitted
 * claim" for each process.
 */
export function countCommands(redis: Redis, onCommand: () => void): void {
  const send = redis.sendCommand.bind(redis);
  redis.sendCommand = ((...args: Parameters<Redis["sendCommand"]>) => {
    onCommand();
    return send(...args);
  }) as Redis["sendCommand"];
}
