/**
 * SPEC "What a 202 survives": each mode checks at start the settings its
 * promise depends on, with `stampede doctor`'s own verdicts (src/ops/doctor),
 * so the two never disagree. A `fail` refuses the start in one line naming
 * the setting, the finding and the fix; the other verdicts (ok, info, warn)
 * come back for the CLI to print once.
 */

import type { Redis } from "ioredis";
import { judgeReplication } from "../adapters/kafka/doctor.ts";
import type { TopicDescription } from "../adapters/kafka/queue/types.ts";
import { redisDurability } from "../adapters/redis/admission/durability.ts";
import { assessEviction } from "../adapters/redis/stats/memory.ts";
import type { Config } from "../config/config.ts";
import { dataDirCheck } from "../ops/doctor/checks/data-dir.ts";
import { DURABILITY_SETTINGS_SQL, durabilityVerdict } from "../ops/doctor/checks/postgres.ts";
import { evictionVerdict, parseInfoSections, persistenceVerdict } from "../ops/doctor/checks/redis.ts";
import { type Verdict, warn } from "../ops/doctor/types.ts";
import { within } from "./readiness.ts";
import { describe, StartupError } from "./startup-error.ts";

/** A dependency that hangs instead of answering must not hang the start. */
const CHECK_TIMEOUT_MS = 5000;

/** Throws a StartupError for the first failed verdict, blamed on `setting`; returns the verdicts otherwise. */
export function enforce(setting: string, verdicts: Verdict[]): Verdict[] {
  const failed = verdicts.find((v) => v.status === "fail");
  if (failed)
    throw new StartupError(`${setting}: ${failed.message}${failed.fix ? ` (fix: ${failed.fix})` : ""}`);
  return verdicts;
}

/** Embedded: DATA_DIR writable, fsync working, room on the disk, FSYNC, the admin token private. */
export async function checkDataDirAtStart(config: Pick<Config, "DATA_DIR" | "FSYNC">): Promise<Verdict[]> {
  return enforce("DATA_DIR", await dataDirCheck({ dataDir: config.DATA_DIR, fsync: config.FSYNC }).run());
}

/**
 * Distributed: Redis's maxmemory-policy (allkeys-* refuses, volatile-* warns)
 * and, with QUEUE=redis, its persistence (warns as the SPEC's table says).
 * A Redis that will not tell (INFO or CONFIG disabled by a provider) is a
 * warning: the start goes on, `stampede doctor` says what to check.
 */
export async function checkRedisAtStart(redis: Redis, queue: "redis" | "kafka"): Promise<Verdict[]> {
  const verdicts: Verdict[] = [];
  try {
    const memory = parseInfoSections(await within(CHECK_TIMEOUT_MS, redis.info("memory")));
    const policy = memory.maxmemory_policy;
    verdicts.push(
      policy === undefined
        ? warn("redis-eviction", "Redis does not report its maxmemory-policy", "make it noeviction")
        : evictionVerdict(assessEviction(policy, Number(memory.maxmemory ?? 0))),
    );
  } catch (error) {
    verdicts.push(unknown("redis-eviction", "Redis's maxmemory-policy", error));
  }
  try {
    verdicts.push(persistenceVerdict(await within(CHECK_TIMEOUT_MS, redisDurability(redis)), queue));
  } catch (error) {
    verdicts.push(unknown("promise", "Redis's persistence", error));
  }
  return enforce("REDIS_URL", verdicts);
}

type Query = (text: string) => Promise<{ rows: Record<string, unknown>[] }>;

/**
 * Distributed: PostgreSQL's fsync and full_page_writes (off refuses: the
 * ledger holds the only copy of an issued claim) and synchronous_commit (off
 * warns). An API process may start while PostgreSQL is down (it admits from
 * Redis alone): then the check is a warning and the worker's start checks it.
 */
export async function checkPostgresAtStart(query: Query): Promise<Verdict[]> {
  let settings: Record<string, string>;
  try {
    const { rows } = await within(CHECK_TIMEOUT_MS, query(DURABILITY_SETTINGS_SQL));
    settings = Object.fromEntries(rows.map((r) => [String(r.name), String(r.setting)]));
  } catch (error) {
    return [unknown("postgres-durability", "PostgreSQL's durability settings", error)];
  }
  return enforce("DATABASE_URL", [durabilityVerdict(settings)]);
}

function unknown(name: string, what: string, error: unknown): Verdict {
  return warn(name, `could not read ${what}: ${describe(error)}`, "run stampede doctor once it answers");
}

/**
 * Distributed, QUEUE=kafka: what a 202 survives with the claims topic's
 * replication (a 202 waits for acks=all). The doctor's failures here (too few
 * replicas in sync now, min.insync.replicas above the replicas) make claims
 * answer 503, never a 202 that cannot be kept, and a broker coming back
 * mends them: at start they warn rather than refuse.
 */
export async function checkKafkaTopicAtStart(
  describeTopic: () => Promise<TopicDescription | undefined>,
): Promise<Verdict[]> {
  try {
    const topic = await within(CHECK_TIMEOUT_MS, describeTopic());
    if (!topic) throw new Error("the brokers did not describe it");
    const verdict = judgeReplication(topic);
    return [verdict.status === "fail" ? warn(verdict.name, verdict.message, verdict.fix ?? "") : verdict];
  } catch (error) {
    return [unknown("kafka-replication", "the claims topic's replication", error)];
  }
}
