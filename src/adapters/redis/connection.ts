/**
 * Every Redis connection of distributed mode is made here, with a deadline on
 * each command: a Redis that hangs (a stopped process, a saturated host, a
 * network that drops packets without resetting) fails the command after
 * `commandTimeoutMs` with "Command timed out", which the admission store
 * answers as 503 `unavailable` and a worker retries; nothing waits forever.
 * A command that timed out may still run when Redis resumes: an admission
 * then stands without its 202, as the contract's 503 allows (a retry is
 * answered 409 naming it), and a read is simply discarded.
 *
 * REDIS_URL may name a Redis Cluster (url.ts): the same options then apply
 * to the connection the client keeps with each node, and the client follows
 * the slot map itself: MOVED and ASK redirections, a master replaced by its
 * replica (it asks the cluster for the slot map again), scripts loaded again
 * on a node that never saw them (scripts.ts). Every command and script
 * stampede sends touches one slot (keys.ts).
 */
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from "ioredis";
import type { Logger } from "pino";
import type { Config } from "../../config/config.ts";
import { DEFAULTS as STREAM_DEFAULTS } from "./streams/options.ts";
import { parseRedisUrl, type RedisClusterTarget } from "./url.ts";

/**
 * A client of one Redis or of a Redis Cluster: what every part of the Redis
 * adapter takes. Both answer the same commands; what differs (SCAN, INFO,
 * CONFIG and WAIT see one node) goes through nodes.ts.
 */
export type RedisClient = Redis | Cluster;

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
export function redisConnection(options: RedisConnectionOptions): RedisClient {
  const { use, logger } = options;
  const blockMs = use === "blocking" ? (options.blockMs ?? STREAM_DEFAULTS.blockMs) : 0;
  const common: RedisOptions = {
    connectionName: options.name,
    // RESP2: the reply shapes every Redis version and proxy agree on.
    protocol: 2,
    commandTimeout: options.commandTimeoutMs + blockMs,
    connectTimeout: options.connectTimeoutMs,
  };
  const target = parseRedisUrl(options.url);
  const redis: RedisClient =
    target.kind === "cluster"
      ? clusterClient(target, common, use)
      : new Redis(options.url, { ...common, lazyConnect: true, ...byUse[use] });
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
  // A cluster client stays up when one node goes: say which (its slots move to a replica, if any).
  if (redis instanceof Cluster)
    redis.on("-node", (node: Redis) => {
      if (connected && redis.status === "ready")
        logger.warn(
          { connection: options.name, node: `${node.options.host}:${node.options.port}` },
          "Redis Cluster node lost",
        );
    });
  return redis;
}

const byUse: Record<RedisConnectionUse, RedisOptions> = {
  commands: { enableAutoPipelining: true, enableOfflineQueue: false },
  subscriber: {},
  blocking: {},
};

/** How often a cluster client asks for the slot map even when nothing redirected it. */
export const SLOTS_REFRESH_MS = 1000;

/**
 * A cluster client: `use` decides its offline queue and auto-pipelining as
 * for one Redis (auto-pipelines are per node). A node that dies is not
 * reconnected to: its commands are retried (every 100 ms, within their
 * deadline) on the slot map asked again, where its replica has taken
 * its place once the cluster promoted it. The slot map is also refreshed
 * every SLOTS_REFRESH_MS, since a pipeline that meets MOVED among successful
 * writes fails its commands (answered 503) without asking for it.
 */
function clusterClient(target: RedisClusterTarget, common: RedisOptions, use: RedisConnectionUse): Cluster {
  const options: ClusterOptions = {
    lazyConnect: true,
    enableOfflineQueue: use !== "commands",
    enableAutoPipelining: use === "commands",
    scaleReads: "master",
    slotsRefreshInterval: SLOTS_REFRESH_MS,
    retryDelayOnFailover: 100,
    retryDelayOnClusterDown: 100,
    retryDelayOnTryAgain: 100,
    redisOptions: {
      ...common,
      ...(target.username === undefined ? {} : { username: target.username }),
      ...(target.password === undefined ? {} : { password: target.password }),
      ...(target.tls ? { tls: {} } : {}),
    },
  };
  return new Cluster(target.nodes, options);
}
