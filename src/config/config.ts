import { parseArgs } from "node:util";
import { ConfigError, type Setting } from "./settings.ts";
import { BACKGROUND } from "./table/background.ts";
import { BASICS } from "./table/basics.ts";
import { DISTRIBUTED } from "./table/distributed.ts";
import { EXPOSURE } from "./table/exposure.ts";
import { PROTECTION } from "./table/protection.ts";
import { TIMEOUTS } from "./table/timeouts.ts";

export { ConfigError };

/**
 * The settings table, in the order they are read and documented (a derived
 * default reads the settings before it): each part in ./table/. Add a
 * setting there and it is parsed, validated and documented everywhere.
 */
export const SETTINGS = {
  ...BASICS,
  ...DISTRIBUTED,
  ...PROTECTION,
  ...BACKGROUND,
  ...TIMEOUTS,
  ...EXPOSURE,
};

type Settings = typeof SETTINGS;
export type Config = { [K in keyof Settings]: ReturnType<Settings[K]["parse"]> };
export type SettingName = keyof Settings;

/** `PORT` <-> `--port`, `LISTEN_BACKLOG` <-> `--listen-backlog`. */
export const flagName = (name: string): string => name.toLowerCase().replaceAll("_", "-");

/** A loaded configuration and the settings it was given (a flag or an environment variable). */
export interface LoadedSettings {
  config: Config;
  given: ReadonlySet<SettingName>;
}

/**
 * Reads every setting from CLI flags (first) and the environment, validates
 * them, and throws a ConfigError naming the first bad one. Unknown flags are
 * refused too: a typo must not silently fall back to a default.
 */
export function loadConfig(env: NodeJS.ProcessEnv, argv: string[] = []): Config {
  return readSettings(env, argv).config;
}

/** loadConfig, also telling which settings were given (the per-command rules need it: ./commands.ts). */
export function readSettings(env: NodeJS.ProcessEnv, argv: string[] = []): LoadedSettings {
  const options: Record<string, { type: "string" }> = {};
  for (const name of Object.keys(SETTINGS)) options[flagName(name)] = { type: "string" };
  let flags: Record<string, string | undefined>;
  try {
    flags = parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values as Record<
      string,
      string | undefined
    >;
  } catch (error) {
    throw new ConfigError("(flags)", (error as Error).message);
  }
  const config: Record<string, unknown> = {};
  const given = new Set<SettingName>();
  for (const [name, setting] of Object.entries(SETTINGS) as [SettingName, Setting<unknown>][]) {
    const raw = flags[flagName(name)] ?? env[name];
    if (raw !== undefined) {
      given.add(name);
      config[name] = setting.parse(raw, name);
    } else config[name] = setting.derive ? setting.derive(config) : setting.default;
  }
  const result = config as Config;
  validateConfig(result);
  return { config: result, given };
}

/** The rules between settings, checked once here for every command. */
export function validateConfig(config: Config): void {
  if (config.QUEUE === "kafka" && config.KAFKA_BROKERS.length === 0)
    throw new ConfigError("KAFKA_BROKERS", "required when QUEUE=kafka");
  if (
    config.KAFKA_REPLICATION_FACTOR > 0 &&
    config.KAFKA_MIN_INSYNC_REPLICAS > config.KAFKA_REPLICATION_FACTOR
  )
    throw new ConfigError(
      "KAFKA_MIN_INSYNC_REPLICAS",
      `above KAFKA_REPLICATION_FACTOR (${config.KAFKA_REPLICATION_FACTOR}): Kafka would refuse every claim`,
    );
}

/**
 * `env` without any stampede setting: what a process started by another
 * (tests, the bench harness) inherits, so that it gets only the settings it
 * is given and not, say, the REDIS_URL exported for the harness itself.
 */
export function withoutSettings(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const clean = { ...env };
  for (const name of Object.keys(SETTINGS)) delete clean[name];
  return clean;
}
