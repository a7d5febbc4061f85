import type { Redis } from "ioredis";
import type { StatsSource } from "../../../ports/stats.ts";
import type { RedisClient } from "../connection.ts";
import { isCluster, masterNodes, nodeAddress } from "../nodes.ts";
import { type KeyFamily, type RedisMemoryOptions, sampleKeyFamilies } from "./key-families.ts";

export { defaultFamilyOf, stampedeKeyFamily } from "./key-families.ts";

export type { KeyFamily, RedisMemoryOptions };

export interface EvictionAssessment {
  policy: string;
  maxmemory: number;
  /** True when this policy may evict keys stampede relies on. */
  canEvict: boolean;
  message: string;
}

type Part<T> = T | { error: string };

export interface RedisMemoryReport {
  info: Part<Record<string, number | string>>;
  stats: Part<Record<string, number>>;
  doctor: Part<string>;
  keyFamilies: Part<{
    prefix: string;
    scannedKeys: number;
    complete: boolean;
    families: KeyFamily[];
    estimatedBytes: number;
  }>;
  eviction: Part<EvictionAssessment>;
  warnings: string[];
}

const INFO_FIELDS: Record<string, "number" | "string"> = {
  used_memory: "number",
  used_memory_human: "string",
  used_memory_rss: "number",
  used_memory_rss_human: "string",
  used_memory_peak: "number",
  used_memory_peak_human: "string",
  used_memory_dataset: "number",
  mem_fragmentation_ratio: "number",
  allocator_frag_ratio: "number",
  maxmemory: "number",
  maxmemory_human: "string",
  maxmemory_policy: "string",
  mem_allocator: "string",
};

const STATS_FIELDS = [
  "peak.allocated",
  "total.allocated",
  "startup.allocated",
  "dataset.bytes",
  "dataset.percentage",
  "overhead.total",
  "keys.count",
  "keys.bytes-per-key",
  "clients.normal",
  "replication.backlog",
  "aof.buffer",
  "fragmentation",
  "fragmentation.bytes",
];

/** Above this share of maxmemory, writes are close to failing (noeviction) or keys to being evicted. */
const HIGH_USAGE = 0.9;
/** Fragmentation only matters once there is enough memory for it to cost something. */
const FRAGMENTATION_FLOOR_BYTES = 64 * 1024 * 1024;

/**
 * Redis memory as an operator reads it when troubleshooting: the INFO memory
 * and MEMORY STATS essentials, the MEMORY DOCTOR text, bytes per stampede key
 * family (MEMORY USAGE on a sample of the keys a SCAN of the prefix finds),
 * and warnings, above all when the eviction policy could evict stampede's
 * keys (evicted admission state means over-issue and lost claims).
 *
 * Standalone: give it any ioredis client and the key prefix as it appears in
 * Redis (the client's own `keyPrefix` option, if any, is accounted for). Each
 * part is read on its own: a managed Redis that disables MEMORY or SCAN still
 * reports the rest. Cost is bounded by `maxScanKeys` and `samplesPerFamily`.
 * It reads one node: a cluster's masters are read one by one (clusterMemoryReport).
 */
export async function redisMemoryReport(
  client: Redis,
  prefix: string,
  options: RedisMemoryOptions = {},
): Promise<RedisMemoryReport> {
  const [info, stats, doctor, keyFamilies] = await Promise.all([
    attempt(async () => parseInfo(await client.info("memory"))),
    attempt(async () => pickStats(await client.memory("STATS"))),
    attempt(async () => String(await client.memory("DOCTOR")).trim()),
    attempt(() => sampleKeyFamilies(client, prefix, options)),
  ]);
  const eviction: Part<EvictionAssessment> =
    "error" in info
      ? { error: info.error as string }
      : assessEviction(String(info.maxmemory_policy ?? "unknown"), Number(info.maxmemory ?? 0));
  return { info, stats, doctor, keyFamilies, eviction, warnings: warningsFor(info, eviction) };
}

/** The "redis" section of GET /v1/admin/stats; on a cluster, every master's, added up (clusterMemoryReport). */
export function redisMemorySource(
  client: RedisClient,
  prefix: string,
  options?: RedisMemoryOptions,
): StatsSource {
  return {
    name: "redis",
    collect: () =>
      isCluster(client)
        ? clusterMemoryReport(masterNodes(client), prefix, options)
        : redisMemoryReport(client, prefix, options),
  };
}

/** A cluster's memory: the masters' reports under `nodes`, and their sum in the one-Redis shape. */
export type ClusterMemoryReport = RedisMemoryReport & { nodes: Record<string, RedisMemoryReport> };

/**
 * One report per master (SCAN, INFO and MEMORY see one node), and their sum
 * in the shape of one Redis's report, so readers of the one-Redis report
 * (the dashboard) read a cluster's too: memory and key counts added up, the
 * policy the masters share (or "mixed"), warnings and doctor texts named by node.
 */
export async function clusterMemoryReport(
  masters: Redis[],
  prefix: string,
  options?: RedisMemoryOptions,
): Promise<ClusterMemoryReport> {
  const reports = await Promise.all(masters.map((node) => redisMemoryReport(node, prefix, options)));
  const named = masters.map((node, i) => [nodeAddress(node), reports[i]!] as const);
  const infos = reports
    .map((r) => r.info)
    .filter((i): i is Record<string, number | string> => !("error" in i));
  const sum = (field: string) => infos.reduce((total, i) => total + Number(i[field] ?? 0), 0);
  const policies = [...new Set(infos.map((i) => String(i.maxmemory_policy)))];
  const info: RedisMemoryReport["info"] =
    infos.length === 0
      ? { error: "no master answered INFO memory" }
      : {
          used_memory: sum("used_memory"),
          used_memory_rss: sum("used_memory_rss"),
          used_memory_peak: sum("used_memory_peak"),
          used_memory_dataset: sum("used_memory_dataset"),
          maxmemory: sum("maxmemory"),
          maxmemory_policy: policies.length === 1 ? policies[0]! : "mixed",
          mem_fragmentation_ratio: Math.max(...infos.map((i) => Number(i.mem_fragmentation_ratio ?? 0))),
          masters: masters.length,
        };
  const families = new Map<string, KeyFamily>();
  let scannedKeys = 0;
  let complete = true;
  for (const r of reports) {
    if ("error" in r.keyFamilies) continue;
    scannedKeys += r.keyFamilies.scannedKeys;
    complete &&= r.keyFamilies.complete;
    for (const f of r.keyFamilies.families) {
      const acc = families.get(f.family) ?? { ...f, keys: 0, sampled: 0, estimatedBytes: 0 };
      acc.keys += f.keys;
      acc.sampled += f.sampled;
      acc.estimatedBytes += f.estimatedBytes;
      acc.avgBytes = acc.keys > 0 ? Math.round(acc.estimatedBytes / acc.keys) : 0;
      families.set(f.family, acc);
    }
  }
  const merged = [...families.values()].sort((a, b) => b.estimatedBytes - a.estimatedBytes);
  return {
    info,
    stats: { error: "per master: see nodes" },
    doctor: named
      .map(([address, r]) => `${address}: ${typeof r.doctor === "string" ? r.doctor : r.doctor.error}`)
      .join("\n"),
    keyFamilies: {
      prefix,
      scannedKeys,
      complete,
      families: merged,
      estimatedBytes: merged.reduce((total, f) => total + f.estimatedBytes, 0),
    },
    eviction:
      "error" in info
        ? { error: info.error as string }
        : assessEviction(String(info.maxmemory_policy), Number(info.maxmemory)),
    warnings: named.flatMap(([address, r]) => r.warnings.map((w) => `${address}: ${w}`)),
    nodes: Object.fromEntries(named),
  };
}

/**
 * What a maxmemory policy means for stampede. allkeys-* evict anything, so
 * admission state too; volatile-* evict keys that carry a TTL, which admission
 * state must never do (but idempotency or status caches may); noeviction
 * refuses writes instead, which stampede answers with 503: safe.
 */
export function assessEviction(policy: string, maxmemory: number): EvictionAssessment {
  const limit = maxmemory > 0 ? `maxmemory ${maxmemory} bytes` : "maxmemory 0 (no limit yet)";
  if (policy === "noeviction")
    return {
      policy,
      maxmemory,
      canEvict: false,
      message:
        "noeviction: at the memory limit Redis refuses writes (stampede answers 503); nothing is evicted",
    };
  if (policy.startsWith("allkeys-"))
    return {
      policy,
      maxmemory,
      canEvict: true,
      message:
        `${policy} with ${limit} can evict ANY key, admission state included (over-issue, lost claims): ` +
        "set maxmemory-policy noeviction",
    };
  if (policy.startsWith("volatile-"))
    return {
      policy,
      maxmemory,
      canEvict: true,
      message:
        `${policy} with ${limit} evicts keys that have a TTL (idempotency and status caches): ` +
        "set maxmemory-policy noeviction",
    };
  return {
    policy,
    maxmemory,
    canEvict: true,
    message: `unknown maxmemory-policy "${policy}": set maxmemory-policy noeviction`,
  };
}

function warningsFor(
  info: Part<Record<string, number | string>>,
  eviction: Part<EvictionAssessment>,
): string[] {
  if ("error" in info || "error" in eviction) return [`could not read INFO memory: ${String(info.error)}`];
  const warnings: string[] = [];
  if (eviction.canEvict) warnings.push(eviction.message);
  const used = Number(info.used_memory ?? 0);
  const rss = Number(info.used_memory_rss ?? 0);
  const ratio = Number(info.mem_fragmentation_ratio ?? 0);
  if (eviction.maxmemory === 0)
    warnings.push(
      "maxmemory is 0: Redis grows until the machine runs out of memory; set maxmemory (with noeviction)",
    );
  else if (used / eviction.maxmemory > HIGH_USAGE)
    warnings.push(
      `used_memory is ${Math.round((100 * used) / eviction.maxmemory)}% of maxmemory: ` +
        "raise maxmemory or end finished campaigns",
    );
  if (rss > FRAGMENTATION_FLOOR_BYTES && ratio > 1.5)
    warnings.push(
      `mem_fragmentation_ratio ${ratio}: RSS is well above the data; consider activedefrag yes or a restart`,
    );
  return warnings;
}

export function parseInfo(text: string): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  for (const line of text.split(/\r?\n/)) {
    const at = line.indexOf(":");
    if (at < 1 || line.startsWith("#")) continue;
    const key = line.slice(0, at);
    const kind = INFO_FIELDS[key];
    if (!kind) continue;
    const value = line.slice(at + 1).trim();
    out[key] = kind === "number" ? Number(value) : value;
  }
  return out;
}

/** MEMORY STATS is a flat [name, value, ...] array (RESP2, or RESP3 "legacy") or a map (RESP3). */
export function pickStats(reply: unknown): Record<string, number> {
  const all: Record<string, unknown> = {};
  if (Array.isArray(reply)) {
    for (let i = 0; i + 1 < reply.length; i += 2) all[String(reply[i])] = reply[i + 1];
  } else if (reply && typeof reply === "object") {
    Object.assign(all, reply);
  }
  const out: Record<string, number> = {};
  for (const name of STATS_FIELDS) {
    const value = all[name];
    if (value !== undefined && value !== null && !Number.isNaN(Number(value))) out[name] = Number(value);
  }
  return out;
}

async function attempt<T>(read: () => Promise<T>): Promise<T | { error: string }> {
  try {
    return await read();
  } catch (error) {
    return { error: (error as Error).message };
  }
}
