import { Redis, type RedisOptions } from "ioredis";
import type { Logger } from "pino";
import type { Resources } from "../resources.ts";
import { describe, StartupError } from "../startup-error.ts";

/**
 * The Redis connections of one distributed process, each named after the
 * process's role and instance (CLIENT LIST shows who is who) and closed by
 * the process's Resources. A connection that is lost reconnects by itself;
 * the outage is logged once, not at every retry.
 */
export class RedisConnections {
  readonly instance: string;
  readonly #url: string;
  readonly #prefix: string;
  readonly #logger: Logger;
  readonly #resources: Resources;

  constructor(options: {
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
    this.instance = options.instance;
  }

  /** A connected client; an unreachable Redis at start is a StartupError naming REDIS_URL. */
  async open(name: string, extra: RedisOptions = {}): Promise<Redis> {
    const redis = new Redis(this.#url, {
      connectionName: `${this.#prefix}-${name}-${this.instance}`,
      // RESP2: the reply shapes every Redis version and proxy agree on.
      protocol: 2,
      lazyConnect: true,
      ...extra,
    });
    // Before the first connect, a failure is the start's to report (one line, below).
    let connected = false;
    let down = false;
    // ioredis rejects connect() with "Connection is closed."; the cause came as an "error" event.
    let cause: Error | undefined;
    redis.on("error", (error) => {
      cause = error;
      if (connected && !down)
        this.#logger.warn(
          { error: describe(error), connection: name },
          "Redis connection lost; reconnecting",
        );
      down = true;
    });
    redis.on("ready", () => {
      if (connected && down) this.#logger.info({ connection: name }, "Redis connection back");
      down = false;
    });
    this.#resources.add(`redis ${name}`, redis, (r) => r.disconnect());
    try {
      await redis.connect();
      connected = true;
    } catch (error) {
      throw new StartupError(`cannot connect to Redis (REDIS_URL): ${describe(cause ?? error)}`, {
        cause: cause ?? error,
      });
    }
    return redis;
  }
}
