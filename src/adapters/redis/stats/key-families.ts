/**
 * Bytes per stampede key family, for the Redis memory report: SCAN the
 * prefix (bounded), group keys into families, MEMORY USAGE a sample of each
 * (one pipeline), and extrapolate to the family's key count.
 */

import type { Redis } from "ioredis";
import { KEY_FAMILIES } from "../keys.ts";

export interface RedisMemoryOptions {
  /** Stop scanning after this many keys (default 10,000); the report then says `complete: false`. */
  maxScanKeys?: number;
  /** MEMORY USAGE calls per family, at most (default 32). */
  samplesPerFamily?: number;
  /** SCAN's COUNT hint (default 1,000). */
  scanCount?: number;
  /** Maps a key, prefix removed, to its family; default: stampedeKeyFamily. */
  familyOf?: (rest: string) => string;
  /** Families beyond this many are lumped into "(other)" (default 50). */
  maxFamilies?: number;
}

export interface KeyFamily {
  family: string;
  /** Keys of this family among those scanned. */
  keys: number;
  /** Keys measured with MEMORY USAGE. */
  sampled: number;
  avgBytes: number;
  /** avgBytes x keys. */
  estimatedBytes: number;
}

/**
 * A key's family, prefix removed: hash tags become `{*}`, segments that look
 * like words (lowercase, short) stay, anything else (ids) becomes `*`.
 * `claim:Xk3...` -> `claim:*`, `c:{summer}:stock` -> `c:{*}:stock`.
 */
export function defaultFamilyOf(rest: string): string {
  return rest
    .split(":")
    .map((segment) => {
      if (/^\{.*\}$/.test(segment)) return "{*}";
      return /^[a-z][a-z_-]{0,31}$/.test(segment) ? segment : "*";
    })
    .join(":");
}

export async function sampleKeyFamilies(client: Redis, prefix: string, options: RedisMemoryOptions) {
  const maxScanKeys = options.maxScanKeys ?? 10_000;
  const samplesPerFamily = options.samplesPerFamily ?? 32;
  const maxFamilies = options.maxFamilies ?? 50;
  const familyOf = options.familyOf ?? stampedeKeyFamily;
  const clientPrefix = client.options.keyPrefix ?? "";
  const families = new Map<string, { keys: number; samples: string[] }>();
  let scanned = 0;
  let cursor = "0";
  do {
    const [next, keys] = await client.scan(
      cursor,
      "MATCH",
      `${globEscape(prefix)}*`,
      "COUNT",
      options.scanCount ?? 1000,
    );
    cursor = next;
    for (const key of keys) {
      scanned++;
      let family = familyOf(key.slice(prefix.length).replace(/^[:._-]/, ""));
      if (!families.has(family) && families.size >= maxFamilies) family = "(other)";
      let entry = families.get(family);
      if (!entry) {
        entry = { keys: 0, samples: [] };
        families.set(family, entry);
      }
      entry.keys++;
      // SCAN walks the hash table in bucket order, which is as good as random.
      if (entry.samples.length < samplesPerFamily) entry.samples.push(key);
    }
  } while (cursor !== "0" && scanned < maxScanKeys);

  const pipeline = client.pipeline();
  const order: string[] = [];
  for (const [family, entry] of families)
    for (const key of entry.samples) {
      order.push(family);
      // The client adds its keyPrefix to key arguments; SCAN returned full names.
      pipeline.memory("USAGE", key.startsWith(clientPrefix) ? key.slice(clientPrefix.length) : key);
    }
  const results = order.length > 0 ? ((await pipeline.exec()) ?? []) : [];
  const bytes = new Map<string, { sum: number; n: number }>();
  results.forEach(([error, value], i) => {
    // A key may expire or be deleted between SCAN and MEMORY USAGE (null).
    if (error || value === null || value === undefined) return;
    const family = order[i]!;
    const acc = bytes.get(family) ?? { sum: 0, n: 0 };
    acc.sum += Number(value);
    acc.n++;
    bytes.set(family, acc);
  });
  const out: KeyFamily[] = [...families].map(([family, entry]) => {
    const measured = bytes.get(family) ?? { sum: 0, n: 0 };
    const avgBytes = measured.n > 0 ? Math.round(measured.sum / measured.n) : 0;
    return { family, keys: entry.keys, sampled: measured.n, avgBytes, estimatedBytes: avgBytes * entry.keys };
  });
  out.sort((a, b) => b.estimatedBytes - a.estimatedBytes);
  return {
    prefix,
    scannedKeys: scanned,
    complete: cursor === "0",
    families: out,
    estimatedBytes: out.reduce((sum, f) => sum + f.estimatedBytes, 0),
  };
}

const globEscape = (text: string) => text.replace(/[*?[\]\\]/g, "\\$&");

const LAYOUTS = Object.values(KEY_FAMILIES);

/**
 * The family of one of stampede's own keys (prefix removed), as keys.ts
 * declares them (KEY_FAMILIES), so that ids (campaigns, users, tasks, IPs)
 * never become families of their own: `{tag}:c:summer:holders` ->
 * `{*}:c:*:holders`, `task:abc` -> `task:*`, `rl:u:summer:alice` ->
 * `rl:u:*:*`. A key no family declares goes to defaultFamilyOf.
 */
export function stampedeKeyFamily(rest: string): string {
  for (const layout of LAYOUTS) if (layout.matches(rest)) return layout.name;
  return defaultFamilyOf(rest);
}
