import type { Logger } from "pino";
import { countCommands } from "../../adapters/redis/command-count.ts";
import type { RedisClient } from "../../adapters/redis/connection.ts";
import { type RedisConnectionUse, redisConnection, redisTimeouts } from "../../adapters/redis/index.ts";
import type { Config } from "../../config/config.ts";
import type { Metrics } from "../../ops/metrics/metrics.ts";
import type { Resources } from "../resources.ts";
import { describe, StartupError } from "../startup-error.ts";

/**
 * The Redis connections of one distributed process, each named after the
 * process's role and instance (CLIENT LIST shows who is who) and closed by
 * the process's Resources, each with a deadline on every command
 * (src/adapters/redis/connection.ts). A connection that is lost reconnects by
 * itself; the outage is logged once, not at every retry.
 */
export class RedisConnections {
  readonly instance: string;
  readonly #url: string;
  readonly #prefix: string;
  readonly #logger: Logger;
  readonly #resources: Resources;
  readonly #timeouts: ReturnType<typeof redisTimeouts>;
  readonly #metrics: Metrics;
  readonly #role: string;

  constructor(options: {
    config: Pick<Config, "REDIS_COMMAND_TIMEOUT_MS" | "REDIS_CONNECT_TIMEOUT_MS">;
    /** Every command is counted per role and connection (stampede_redis_commands_total). */
    metrics: Metrics;
    url: string;
    role: string;
    instance: string;
    logger: Logger;
    resources: Resources;
  }) {
    this.#url = options.url;
    this.#prefix = `stampede-${options.role}`;
    this.#logger = options.logger;
    this.#resources = options.resources;
    this.#timeouts = redisTimeouts(options.config);
    this.#metrics = options.metrics;
    this.#role = options.role;
    this.instance = options.instance;
  }

  /** A connected client; an unreachable Redis at start is a StartupError naming REDIS_URL. */
  async open(name: string, use: RedisConnectionUse): Promise<RedisClient> {
    const redis = redisConnection({
      url: this.#url,
      name: `${this.#prefix}-${name}-${this.instance}`,
      use,
      logger: this.#logger,
      ...this.#timeouts,
    });
    countCommands(redis, this.#metrics.redisCommandCounter(this.#role, name));
    // ioredis rejects connect() with "Connection is closed."; the cause came as an "error" event.
    let cause: Error | undefined;
    const remember = (error: Error) => {
      cause = error;
    };
    redis.on("error", remember);
    this.#resources.add(`redis ${name}`, redis, (r) => r.disconnect());
    try {
      await redis.connect();
    } catch (error) {
      throw new StartupError(`cannot connect to Redis (REDIS_URL): ${describe(cause ?? error)}`, {
        cause: cause ?? error,
      });
    } finally {
      redis.off("error", remember);
    }
    return redis;
  }
}
