/**
 * Redis memory of a distributed system run, as spike-1m's target reads it:
 * INFO used_memory before and after the run, per admitted claim, and MEMORY
 * USAGE summed per key family of the run's prefix. Hooks for a ScenarioSpec;
 * in embedded mode (no Redis prefix) they measure nothing.
 */
import type { Redis } from "ioredis";
import { num } from "../engine/format.ts";
import type { BenchReport } from "../engine/report/report.ts";
import { log } from "./figures.ts";
import type { System } from "./modes.ts";
import { keysUnder, redisClient } from "./services.ts";

export interface RedisMemory {
  redisUsedBefore: number;
  redisUsedAfter: number;
  bytesPerAdmittedClaim: number;
  families: Record<string, { keys: number; bytes: number }>;
}

async function usedMemory(redis: Redis): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await redis.info("memory"))?.[1] ?? Number.NaN);
}

/** A key's family: its segments after the prefix, with anything id-like replaced by "*". */
export function keyFamily(key: string, prefix: string): string {
  const rest = key.startsWith(prefix) ? key.slice(prefix.length) : key;
  return (
    prefix +
    rest
      .split(":")
      .map((part) => (/\d/.test(part) || part.length > 20 ? "*" : part))
      .join(":")
  );
}

async function memoryByFamily(redis: Redis, prefix: string): Promise<RedisMemory["families"]> {
  const families: RedisMemory["families"] = {};
  for await (const key of keysUnder(redis, prefix)) {
    const family = keyFamily(key, prefix);
    const entry = families[family] ?? { keys: 0, bytes: 0 };
    entry.keys++;
    entry.bytes += (await redis.memory("USAGE", key, "SAMPLES", 0)) ?? 0;
    families[family] = entry;
  }
  return families;
}

export function redisMemoryHooks(): {
  beforeSystemRun: (system: System) => Promise<void>;
  afterSystemRun: (system: System, report: BenchReport | undefined) => Promise<Partial<RedisMemory>>;
} {
  let usedBefore = Number.NaN;
  return {
    async beforeSystemRun(system) {
      if (!system.redisPrefix) return;
      const redis = redisClient();
      try {
        usedBefore = await usedMemory(redis);
      } finally {
        redis.disconnect();
      }
    },
    async afterSystemRun(system, report) {
      if (!system.redisPrefix) return {};
      const redis = redisClient();
      try {
        const usedAfter = await usedMemory(redis);
        const admitted = report?.counters?.final?.issued ?? Number.NaN;
        return {
          redisUsedBefore: usedBefore,
          redisUsedAfter: usedAfter,
          bytesPerAdmittedClaim: (usedAfter - usedBefore) / admitted,
          families: await memoryByFamily(redis, system.redisPrefix),
        };
      } finally {
        redis.disconnect();
      }
    },
  };
}

/** Prints a run's Redis figures (its RunFigures.extra); false when over the 200 B per claim target. */
export function printRedisMemory(figures: Record<string, unknown> | undefined): boolean {
  const extra = figures as Partial<RedisMemory> | undefined;
  const perClaim = extra?.bytesPerAdmittedClaim;
  if (perClaim === undefined) {
    log("Redis memory: not measured (embedded mode has no Redis)");
    return true;
  }
  log(`Redis: ${num(perClaim)} bytes per admitted claim (target <= 200), families:`);
  for (const [family, f] of Object.entries(extra?.families ?? {}))
    log(`  ${family}: ${num(f.keys)} keys, ${num(f.bytes)} bytes`);
  return perClaim <= 200;
}
