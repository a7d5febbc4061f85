import { Redis } from "ioredis";
import { type RedisDurability, redisDurability } from "../../../adapters/redis/admission/durability.ts";
import {
  assessEviction,
  type EvictionAssessment,
  redisMemoryReport,
} from "../../../adapters/redis/stats/memory.ts";
import { type DoctorCheck, fail, info, ok, type Verdict, warn } from "../types.ts";

/**
 * Redis holds admission state and claim status in distributed mode: it must
 * answer, never evict stampede's keys, and keep what the mode's 202 promises
 * (docs/api.md "What a 202 survives"). Also prints memory health, from the same
 * report as /v1/admin/stats.
 */
export interface RedisCheckOptions {
  url: string;
  prefix: string;
  queue: "memory" | "redis" | "kafka";
  connectTimeoutMs?: number;
}

const MIN_VERSION = [6, 2];

export function redisCheck(options: RedisCheckOptions): DoctorCheck {
  return { name: "redis", run: () => checkRedis(options) };
}

export function parseInfoSections(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const at = line.indexOf(":");
    if (at > 0 && !line.startsWith("#")) out[line.slice(0, at)] = line.slice(at + 1).trim();
  }
  return out;
}

async function checkRedis(options: RedisCheckOptions): Promise<Verdict[]> {
  const where = redactUrl(options.url);
  const client = new Redis(options.url, {
    lazyConnect: true,
    connectTimeout: options.connectTimeoutMs ?? 3000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  client.on("error", () => undefined);
  try {
    try {
      await client.connect();
    } catch (error) {
      return [
        fail(
          "redis",
          `cannot reach ${where}: ${(error as Error).message}`,
          "start Redis or correct REDIS_URL",
        ),
      ];
    }
    const verdicts: Verdict[] = [];
    const all = parseInfoSections(await client.info());
    const version = all.redis_version ?? "unknown";
    const [major = 0, minor = 0] = version.split(".").map(Number);
    const oldVersion = major < MIN_VERSION[0]! || (major === MIN_VERSION[0] && minor < MIN_VERSION[1]!);
    verdicts.push(
      oldVersion
        ? fail(
            "redis",
            `${where} runs Redis ${version}`,
            `upgrade to Redis ${MIN_VERSION.join(".")} or newer`,
          )
        : ok("redis", `${where} answers, Redis ${version}`),
    );
    if (all.role && all.role !== "master")
      verdicts.push(
        fail("redis", `${where} is a ${all.role} (read-only)`, "point REDIS_URL at the primary (master)"),
      );

    const eviction = assessEviction(all.maxmemory_policy ?? "unknown", Number(all.maxmemory ?? 0));
    verdicts.push(evictionVerdict(eviction));

    verdicts.push(persistenceVerdict(await redisDurability(client), options.queue));

    const report = await redisMemoryReport(client, options.prefix, {
      maxScanKeys: 5000,
      samplesPerFamily: 16,
    });
    if (!("error" in report.info)) {
      const families = "error" in report.keyFamilies ? undefined : report.keyFamilies;
      const keys = families
        ? `; ${families.scannedKeys}${families.complete ? "" : "+"} keys under "${options.prefix}" ~ ${families.estimatedBytes} bytes`
        : "";
      verdicts.push(
        info(
          "redis-memory",
          `used ${report.info.used_memory_human}, rss ${report.info.used_memory_rss_human}, ` +
            `fragmentation ${report.info.mem_fragmentation_ratio}, maxmemory ${report.info.maxmemory_human}${keys}`,
        ),
      );
    }
    for (const warning of report.warnings)
      if (!warning.startsWith(eviction.policy))
        verdicts.push(warn("redis-memory", warning, "see docs/operations.md, Redis memory"));
    return verdicts;
  } finally {
    client.disconnect();
  }
}

/**
 * What Redis's maxmemory-policy means for the promise (also checked at start,
 * src/runtime/start-checks.ts): allkeys-* can evict admission state, so a 202
 * or a 410 could be wrong (fail); volatile-* evicts only keys with a TTL,
 * which admission state never has, but idempotency answers and status caches
 * do (warn); noeviction refuses writes instead, answered 503 (ok).
 */
export function evictionVerdict(eviction: EvictionAssessment): Verdict {
  const fix = "CONFIG SET maxmemory-policy noeviction (and in redis.conf)";
  if (!eviction.canEvict)
    return ok("redis-eviction", `maxmemory-policy ${eviction.policy}: stampede's keys are never evicted`);
  if (eviction.policy.startsWith("volatile-")) return warn("redis-eviction", eviction.message, fix);
  return fail("redis-eviction", eviction.message, fix);
}

/**
 * What a 202 survives given Redis's persistence (docs/api.md "What a 202 survives"),
 * in the words the API process logs at start (admission/redis/durability.ts).
 */
export function persistenceVerdict(durability: RedisDurability, queue: RedisCheckOptions["queue"]): Verdict {
  if (queue === "kafka")
    return ok(
      "promise",
      "QUEUE=kafka: a 202 survives kill -9 and the loss of Redis (state is rebuilt from PostgreSQL and the topic)",
    );
  if (durability.survivesRestart) return ok("promise", durability.summary);
  return warn(
    "promise",
    durability.summary,
    "CONFIG SET appendonly yes and appendfsync always (and in redis.conf) for a 202 that survives a Redis restart",
  );
}

function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname === "/" ? "" : parsed.pathname}`;
  } catch {
    return "Redis";
  }
}
