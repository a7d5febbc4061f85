/**
 * Every Redis connection of distributed mode is made here, with a deadline on
 * each command: a Redis that hangs (a stopped process, a saturated host, a
 * network that drops packets without resetting) fails the command after
 * `commandTimeoutMs` with "Command timed out", which the admission store
 * answers as 503 `unavailable` and a worker retries; nothing waits forever.
 * A command that timed out may still run when Redis resumes: an admission
 * then stands without its 202, as the contract's 503 allows (a retry is
 * answered 409 naming it), and a read is simply discarded.
 */
import { Redis, type RedisOptions } from "ioredis";
import type { Logger } from "pino";
import type { Config } from "../../config/config.ts";
import { DEFAULTS as STREAM_DEFAULTS } from "./streams/options.ts";

/**
 * What a connection is for, which decides how it waits:
 * - `commands`: requests wait on it. No offline queue: while Redis is
 *   unreachable a command fails at once (503) instead of piling up to run
 *   minutes later. Commands of concurrent requests share round trips
 *   (auto-pipelining).
 * - `subscriber`: pub/sub. Commands sent while it reconnects wait for it
 *   (within their deadline); its channels are subscribed again by ioredis.
 * - `blocking`: XREADGROUP BLOCK holds it; its deadline is the command
 *   timeout plus the longest BLOCK, so a quiet stream is not a timeout. A
 *   read Redis answers after its deadline leaves its entries pending with
 *   this consumer: the idle take-over (CLAIM_IDLE_MS) hands them out again.
 */
export type RedisConnectionUse = "commands" | "subscriber" | "blocking";

export interface RedisConnectionOptions {
  url: string;
  /** CLIENT SETNAME, seen in CLIENT LIST: stampede-<role>-<use>-<instance>. */
  name: string;
  use: RedisConnectionUse;
  logger: Logger;
  /** A command not answered within this rejects (REDIS_COMMAND_TIMEOUT_MS). */
  commandTimeoutMs: number;
  /** A TCP connect not made within this is dropped and tried again (REDIS_CONNECT_TIMEOUT_MS). */
  connectTimeoutMs: number;
  /** `blocking` connections: the longest BLOCK their reads use (streams/options.ts, 200 ms by default). */
  blockMs?: number;
}

/** The Redis deadlines as the settings give them. */
export function redisTimeouts(
  config: Pick<Config, "REDIS_COMMAND_TIMEOUT_MS" | "REDIS_CONNECT_TIMEOUT_MS">,
): Pick<RedisConnectionOptions, "commandTimeoutMs" | "connectTimeoutMs"> {
  return {
    commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS,
    connectTimeoutMs: config.REDIS_CONNECT_TIMEOUT_MS,
  };
}

/**
 * A connection, not yet connected (`await redis.connect()`; it rejects when
 * Redis cannot be reached). It reconnects by itself after a loss; an outage
 * is logged once when it begins and once when it ends, not at every retry.
 */
export function redisConnection(options: RedisConnectionOptions): Redis {
  const { use, logger } = options;
  const blockMs = use === "blocking" ? (options.blockMs ?? STREAM_DEFAULTS.blockMs) : 0;
  const redis = new Redis(options.url, {
    connectionName: options.name,
    // RESP2: the reply shapes every Redis version and proxy agree on.
    protocol: 2,
    lazyConnect: true,
    commandTimeout: options.commandTimeoutMs + blockMs,
    connectTimeout: options.connectTimeoutMs,
    ...byUse[use],
  });
  // Before the first connect, a failure is the caller's to report (a start
  // reports it in one line); after it, an outage is logged here.
  let connected = false;
  let down = false;
  redis.on("error", (error) => {
    if (connected && !down)
      logger.warn({ err: error, connection: options.name }, "Redis connection lost; reconnecting");
    down = true;
  });
  redis.on("ready", () => {
    if (connected && down) logger.info({ connection: options.name }, "Redis connection back");
    connected = true;
    down = false;
  });
  return redis;
}

const byUse: Record<RedisConnectionUse, RedisOptions> = {
  commands: { enableAutoPipelining: true, enableOfflineQueue: false },
  subscriber: {},
  blocking: {},
};
