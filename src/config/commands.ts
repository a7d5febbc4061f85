/**
 * The settings each server command takes, on top of loadConfig's checks.
 * `stampede start` refuses a distributed-mode setting it is given: an
 * operator who sets REDIS_URL and runs `start` believes the process shares
 * the cluster's stock while it hands out a stock of its own. `stampede api`
 * and `worker` refuse QUEUE=memory and need what distributed mode cannot run
 * without. Embedded-only settings (DATA_DIR, FSYNC, ...) given to api or worker
 * are harmless, so a shared environment file may carry them.
 */

import { availableParallelism } from "node:os";
import { type Config, ConfigError, readSettings, SETTINGS, type SettingName } from "./config.ts";
import type { Setting } from "./settings.ts";

export type DistributedRole = "api" | "worker";

/** A configuration distributed mode can run: its required settings present, QUEUE and PROCESSES resolved. */
export type DistributedConfig = Config & {
  ADMIN_TOKEN: string;
  REDIS_URL: string;
  DATABASE_URL: string;
  QUEUE: "redis" | "kafka";
  PROCESSES: number;
};

/** `stampede start`'s configuration: refuses, in one line, what the embedded mode would ignore. */
export function startConfig(env: NodeJS.ProcessEnv, argv: string[] = []): Config {
  const { config, given } = readSettings(env, argv);
  if (config.QUEUE !== "memory")
    throw new ConfigError(
      "QUEUE",
      `QUEUE=${config.QUEUE} is distributed mode: run stampede api and stampede worker (stampede start queues in memory)`,
    );
  if (config.PROCESSES !== undefined && config.PROCESSES > 1)
    throw new ConfigError(
      "PROCESSES",
      "stampede start is one process (its admission state is in memory); stampede api --processes N runs on every core",
    );
  for (const name of given) {
    const setting: Setting<unknown> = SETTINGS[name];
    if (setting.scope === "distributed" && name !== "PROCESSES")
      throw new ConfigError(
        name,
        "belongs to distributed mode (stampede api / stampede worker); stampede start would ignore it",
      );
  }
  return config;
}

/** `stampede api` / `stampede worker`'s configuration. */
export function distributedConfig(
  role: DistributedRole,
  env: NodeJS.ProcessEnv,
  argv: string[] = [],
): DistributedConfig {
  const { config, given } = readSettings(env, argv);
  if (given.has("QUEUE") && config.QUEUE === "memory")
    throw new ConfigError(
      "QUEUE",
      "QUEUE=memory is the embedded mode's (stampede start); stampede api and worker take redis or kafka",
    );
  const resolved = requireDistributed(config);
  resolved.PROCESSES = config.PROCESSES ?? (role === "api" ? availableParallelism() : 1);
  return resolved;
}

/**
 * Refuses, in one line naming the setting, what distributed mode cannot run
 * without; QUEUE unset (its default, memory) means Redis Streams here, and
 * PROCESSES unset means one.
 */
export function requireDistributed(config: Config): DistributedConfig {
  const missing = (name: SettingName) =>
    new ConfigError(name, "required by distributed mode (stampede api / stampede worker)");
  if (config.ADMIN_TOKEN === undefined) throw missing("ADMIN_TOKEN");
  if (config.REDIS_URL === undefined) throw missing("REDIS_URL");
  if (config.DATABASE_URL === undefined) throw missing("DATABASE_URL");
  return {
    ...config,
    ADMIN_TOKEN: config.ADMIN_TOKEN,
    REDIS_URL: config.REDIS_URL,
    DATABASE_URL: config.DATABASE_URL,
    QUEUE: config.QUEUE === "kafka" ? "kafka" : "redis",
    PROCESSES: config.PROCESSES ?? 1,
  };
}
