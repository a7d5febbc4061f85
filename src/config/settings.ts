/**
 * Every setting stampede reads, in one table: its name (environment variable,
 * and `--kebab-case` CLI flag), default, parser and what it is for. `stampede
 * --help` prints this table; loadConfig() validates it at start.
 */
export class ConfigError extends Error {
  readonly setting: string;
  constructor(setting: string, message: string) {
    super(`invalid setting ${setting}: ${message}`);
    this.name = "ConfigError";
    this.setting = setting;
  }
}

import { isIP } from "node:net";
import { parseRedisUrl } from "../adapters/redis/url.ts";

type Parser<T> = (raw: string, name: string) => T;

export interface Setting<T> {
  doc: string;
  default: T;
  parse: Parser<T>;
  /** Shown in --help instead of the default value (e.g. for secrets). */
  defaultText?: string;
  /**
   * The default computed from the settings read before it (in table order),
   * when this one is not set; `default` is then its value under every other
   * default. Timeouts derived from REQUEST_TIMEOUT_MS use it.
   */
  derive?: (config: Readonly<Record<string, unknown>>) => T;
  /**
   * The mode the setting belongs to; absent: every mode. `stampede start`
   * refuses a distributed setting it is given (src/config/commands.ts).
   */
  scope?: "embedded" | "distributed";
}

export const int =
  (min: number, max: number): Parser<number> =>
  (raw, name) => {
    if (!/^-?\d+$/.test(raw.trim())) throw new ConfigError(name, `expected an integer, got "${raw}"`);
    const n = Number(raw);
    if (n < min || n > max) throw new ConfigError(name, `expected ${min} to ${max}, got ${n}`);
    return n;
  };

export const str: Parser<string> = (raw) => raw;

export const optionalStr: Parser<string | undefined> = (raw) => (raw === "" ? undefined : raw);

/** The parser's value, or undefined for an empty string (the setting's default applies). */
export const optional =
  <T>(parse: Parser<T>): Parser<T | undefined> =>
  (raw, name) =>
    raw === "" ? undefined : parse(raw, name);

/** A Redis key prefix: braces would make a hash tag of it and put every key in one cluster slot. */
export const keyPrefix: Parser<string> = (raw, name) => {
  if (/[{}]/.test(raw)) throw new ConfigError(name, "must not contain { or }");
  return raw;
};

export const oneOf =
  <T extends string>(...values: T[]): Parser<T> =>
  (raw, name) => {
    if (!(values as string[]).includes(raw))
      throw new ConfigError(name, `expected one of ${values.join(" | ")}, got "${raw}"`);
    return raw as T;
  };

export const url =
  (...protocols: string[]): Parser<string | undefined> =>
  (raw, name) => {
    if (raw === "") return undefined;
    let parsed: URL;
    try {
      parsed = new URL(raw);
    } catch {
      throw new ConfigError(name, `expected a URL (${protocols.join(" or ")}), got "${raw}"`);
    }
    if (!protocols.includes(parsed.protocol))
      throw new ConfigError(name, `expected a ${protocols.join(" or ")} URL, got "${parsed.protocol}"`);
    return raw;
  };

/** REDIS_URL: one Redis (redis:, rediss:) or a Redis Cluster (redis+cluster://host:port,...; src/adapters/redis/url.ts). */
export const redisUrl: Parser<string | undefined> = (raw, name) => {
  if (raw === "") return undefined;
  try {
    parseRedisUrl(raw);
  } catch (error) {
    throw new ConfigError(name, (error as Error).message);
  }
  return raw;
};

export const list: Parser<string[]> = (raw) =>
  raw
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");

export const hostPorts: Parser<string[]> = (raw, name) => {
  const items = list(raw, name);
  for (const item of items) {
    if (!/^[A-Za-z0-9.\-_[\]:]+:\d{1,5}$/.test(item))
      throw new ConfigError(name, `expected host:port[,host:port...], got "${item}"`);
  }
  return items;
};

export const secret =
  (minLength: number): Parser<string | undefined> =>
  (raw, name) => {
    if (raw === "") return undefined;
    if (raw.length < minLength) throw new ConfigError(name, `must be at least ${minLength} characters`);
    return raw;
  };

const PROXY_NAMES = new Set(["loopback", "linklocal", "uniquelocal"]);

/**
 * TRUST_PROXY, as Fastify's trustProxy takes it: off, a number of proxy hops,
 * or the proxies' addresses/CIDRs (and loopback | linklocal | uniquelocal).
 * `true` trusts any X-Forwarded-For, which lets any client pick its address.
 */
export const trustProxy: Parser<boolean | number | string> = (raw, name) => {
  const text = raw.trim();
  if (text === "" || text === "off" || text === "false") return false;
  if (text === "true") return true;
  if (/^\d+$/.test(text)) return int(1, 100)(text, name);
  const items = list(text, name);
  for (const item of items) {
    const [address, bits, extra] = item.split("/");
    const ok =
      PROXY_NAMES.has(item) ||
      (extra === undefined && isIP(address ?? "") !== 0 && (bits === undefined || /^\d{1,3}$/.test(bits)));
    if (!ok)
      throw new ConfigError(
        name,
        `expected off, a hop count, or addresses/CIDRs (or loopback, linklocal, uniquelocal), got "${item}"`,
      );
  }
  return items.join(",");
};

/** true | false (also 1 | 0, yes | no, on | off). */
export const bool: Parser<boolean> = (raw, name) => {
  const text = raw.trim().toLowerCase();
  if (["true", "1", "yes", "on"].includes(text)) return true;
  if (["false", "0", "no", "off"].includes(text)) return false;
  throw new ConfigError(name, `expected true or false, got "${raw}"`);
};
