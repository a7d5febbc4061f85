import { Cluster, Redis } from "ioredis";
import { type RedisDurability, redisDurability } from "../../../adapters/redis/admission/durability.ts";
import type { RedisClient } from "../../../adapters/redis/connection.ts";
import { isCluster, masterNodes, nodeAddress } from "../../../adapters/redis/nodes.ts";
import {
  assessEviction,
  clusterMemoryReport,
  type EvictionAssessment,
  redisMemoryReport,
} from "../../../adapters/redis/stats/memory.ts";
import { parseRedisUrl, redactRedisUrl } from "../../../adapters/redis/url.ts";
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
  /** REDIS_WAIT_REPLICAS: every master needs that many replicas connected, or its admissions get 503. */
  waitReplicas?: number;
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
  const where = redactRedisUrl(options.url);
  const client = doctorClient(options);
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
    const masters = masterNodes(client);
    if (isCluster(client)) verdicts.push(await clusterVerdict(masters[0]!, masters.length));
    const perNode = await Promise.all(
      masters.map(async (node) => [nodeAddress(node), await checkNode(node, options)] as const),
    );
    verdicts.push(...mergeNodeVerdicts(perNode, isCluster(client) ? undefined : where));

    const report = isCluster(client)
      ? await clusterMemoryReport(masters, options.prefix, { maxScanKeys: 5000, samplesPerFamily: 16 })
      : await redisMemoryReport(masters[0]!, options.prefix, { maxScanKeys: 5000, samplesPerFamily: 16 });
    if (!("error" in report.info)) {
      const families = "error" in report.keyFamilies ? undefined : report.keyFamilies;
      const keys = families
        ? `; ${families.scannedKeys}${families.complete ? "" : "+"} keys under "${options.prefix}" ~ ${families.estimatedBytes} bytes`
        : "";
      const human = (bytes: unknown) => `${Math.round(Number(bytes) / 2 ** 20)}M`;
      verdicts.push(
        info(
          "redis-memory",
          `used ${report.info.used_memory_human ?? human(report.info.used_memory)}, ` +
            `rss ${report.info.used_memory_rss_human ?? human(report.info.used_memory_rss)}, ` +
            `fragmentation ${report.info.mem_fragmentation_ratio}, ` +
            `maxmemory ${report.info.maxmemory_human ?? human(report.info.maxmemory)}${keys}`,
        ),
      );
    }
    const policy = "error" in report.eviction ? undefined : report.eviction.policy;
    for (const warning of report.warnings)
      if (policy === undefined || !warning.replace(/^[^ ]+: /, "").startsWith(policy))
        verdicts.push(warn("redis-memory", warning, "see docs/operations.md, Redis memory"));
    return verdicts;
  } finally {
    client.disconnect();
  }
}

/** A client for one look: no retries, no offline queue, the deadline given. */
function doctorClient(options: RedisCheckOptions): RedisClient {
  const connectTimeout = options.connectTimeoutMs ?? 3000;
  const target = parseRedisUrl(options.url);
  if (target.kind === "single")
    return new Redis(options.url, {
      lazyConnect: true,
      connectTimeout,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      enableOfflineQueue: false,
    });
  return new Cluster(target.nodes, {
    lazyConnect: true,
    enableOfflineQueue: false,
    clusterRetryStrategy: () => null,
    redisOptions: {
      connectTimeout,
      maxRetriesPerRequest: 0,
      ...(target.username === undefined ? {} : { username: target.username }),
      ...(target.password === undefined ? {} : { password: target.password }),
      ...(target.tls ? { tls: {} } : {}),
    },
  });
}

/** One master: its version and role, eviction policy, persistence and replicas. */
async function checkNode(node: Redis, options: RedisCheckOptions): Promise<Verdict[]> {
  const verdicts: Verdict[] = [];
  const all = parseInfoSections(await node.info());
  const version = all.redis_version ?? "unknown";
  const [major = 0, minor = 0] = version.split(".").map(Number);
  const oldVersion = major < MIN_VERSION[0]! || (major === MIN_VERSION[0] && minor < MIN_VERSION[1]!);
  verdicts.push(
    oldVersion
      ? fail("redis", `runs Redis ${version}`, `upgrade to Redis ${MIN_VERSION.join(".")} or newer`)
      : ok("redis", `answers, Redis ${version}`),
  );
  if (all.role && all.role !== "master")
    verdicts.push(fail("redis", `is a ${all.role} (read-only)`, "point REDIS_URL at the primary (master)"));
  const eviction = assessEviction(all.maxmemory_policy ?? "unknown", Number(all.maxmemory ?? 0));
  verdicts.push(evictionVerdict(eviction));
  verdicts.push(persistenceVerdict(await redisDurability(node), options.queue));
  const replicas = replicasVerdict(Number(all.connected_slaves ?? 0), options.waitReplicas ?? 0);
  if (replicas) verdicts.push(replicas);
  return verdicts;
}

async function clusterVerdict(node: Redis, masters: number): Promise<Verdict> {
  const state = parseInfoSections(String(await node.cluster("INFO"))).cluster_state ?? "unknown";
  if (state !== "ok")
    return fail(
      "redis-cluster",
      `cluster_state ${state}: some slots have no master that answers`,
      "bring the failed masters (or their replicas) back",
    );
  return ok("redis-cluster", `Redis Cluster, cluster_state ok, ${masters} master(s)`);
}

/**
 * What a master's replicas buy (docs/api.md "What a 202 survives"): with
 * REDIS_WAIT_REPLICAS=n, each 202 waits until n replicas hold the admission,
 * so a master lost and replaced by one of them loses no 202; a master with
 * fewer replicas connected answers every admission 503. Without it, a
 * failover keeps what had reached the replica: the last moments' 202s may be
 * lost (the loss is detected and the state rebuilt, invariant 6).
 */
export function replicasVerdict(connected: number, waitReplicas: number): Verdict | undefined {
  if (waitReplicas > 0) {
    if (connected < waitReplicas)
      return fail(
        "redis-replicas",
        `${connected} replica(s) connected, REDIS_WAIT_REPLICAS=${waitReplicas}: every admission on this master answers 503`,
        "bring its replicas back, or lower REDIS_WAIT_REPLICAS",
      );
    return ok(
      "redis-replicas",
      `${connected} replica(s); each 202 waits until ${waitReplicas} of them have the admission (WAIT), so a failover to one of them loses no 202`,
    );
  }
  if (connected === 0) return undefined;
  return info(
    "redis-replicas",
    `${connected} replica(s), REDIS_WAIT_REPLICAS=0: a failover keeps what had reached the replica; the 202s of the last moments before it may be lost (detected and rebuilt, invariant 6)`,
  );
}

/**
 * The verdicts of every master, in one list: one Redis's as they are (with
 * its address); a cluster's merged where the masters agree ("every master:
 * ..."), else named by node.
 */
export function mergeNodeVerdicts(
  perNode: readonly (readonly [string, Verdict[]])[],
  single: string | undefined,
): Verdict[] {
  if (single !== undefined)
    return perNode.flatMap(([, vs]) => vs.map((v) => (startsWithVerb(v) ? withPlace(v, single) : v)));
  const groups = new Map<string, { verdict: Verdict; nodes: string[] }>();
  for (const [address, verdicts] of perNode)
    for (const v of verdicts) {
      const key = `${v.status}\u0000${v.name}\u0000${v.message}`;
      const group = groups.get(key);
      if (group) group.nodes.push(address);
      else groups.set(key, { verdict: v, nodes: [address] });
    }
  return [...groups.values()].map(({ verdict, nodes }) =>
    withPlace(verdict, nodes.length === perNode.length ? "every master" : nodes.join(", ")),
  );
}

/** "answers, Redis 7.2" reads "<place> answers, Redis 7.2"; the rest "<place>: ...". */
const startsWithVerb = (v: Verdict) => /^(answers|runs|is a)\b/.test(v.message);

function withPlace(v: Verdict, place: string): Verdict {
  return { ...v, message: startsWithVerb(v) ? `${place} ${v.message}` : `${place}: ${v.message}` };
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
