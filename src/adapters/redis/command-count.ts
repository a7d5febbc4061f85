import { Cluster, type Redis } from "ioredis";
import type { RedisClient } from "./connection.ts";

/**
 * Counts every command a client sends to Redis, where ioredis sends it: each
 * command, auto-pipelined or not, passes through the client's sendCommand
 * (a pipeline sends its commands one by one through it, an EVALSHA that comes
 * back NOSCRIPT is sent again as EVAL and counts twice). What it gives is
 * what INFO commandstats gives, but per process and per connection, which a
 * Redis shared by many processes cannot: `stampede_redis_commands_total`
 * (ops/metrics/metrics.ts), and the bench's "Redis commands per admitted
 * claim" for each process.
 *
 * A Redis Cluster client routes each command through its own sendCommand to
 * one node connection's: a command counts once there, as for one Redis. What
 * reaches a node connection otherwise counts too: a command sent straight to
 * one node (WAIT, INFO, CONFIG, SCAN per node: nodes.ts) and a command sent
 * again after a MOVED or ASK redirection (it is sent twice).
 */
export function countCommands(redis: RedisClient, onCommand: () => void): void {
  if (!(redis instanceof Cluster)) {
    wrap(redis, onCommand);
    return;
  }
  // Inside the cluster client's sendCommand: already counted there.
  let routing = 0;
  const send = redis.sendCommand.bind(redis);
  redis.sendCommand = ((...args: Parameters<Cluster["sendCommand"]>) => {
    onCommand();
    routing++;
    try {
      return send(...args);
    } finally {
      routing--;
    }
  }) as Cluster["sendCommand"];
  const counted = new WeakSet<Redis>();
  const node = (connection: Redis) => {
    if (counted.has(connection)) return;
    counted.add(connection);
    wrap(connection, () => {
      if (routing === 0) onCommand();
    });
  };
  for (const connection of redis.nodes("all")) node(connection);
  redis.on("+node", node);
}

function wrap(redis: Redis, onCommand: () => void): void {
  const send = redis.sendCommand.bind(redis);
  redis.sendCommand = ((...args: Parameters<Redis["sendCommand"]>) => {
    onCommand();
    return send(...args);
  }) as Redis["sendCommand"];
}
