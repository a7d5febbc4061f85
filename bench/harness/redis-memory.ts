/**
 * Redis memory of a distributed system run, as spike-1m's target reads it:
 * INFO used_memory before and after the run, per admitted claim, and MEMORY
 * USAGE per key family of the run's prefix. Hooks for a ScenarioSpec; in
 * embedded mode (no Redis prefix) they measure nothing.
 */

import { num } from "../engine/format.ts";
import type { BenchReport } from "../engine/report/report.ts";
import { log } from "./figures.ts";
import { REDIS_URL, type System } from "./modes.ts";
import { MiniRedis, memoryByFamily } from "./redis.ts";

export interface RedisMemory {
  redisUsedBefore: number;
  redisUsedAfter: number;
  bytesPerAdmittedClaim: number;
  families: Record<string, { keys: number; bytes: number }>;
}

export function redisMemoryHooks(): {
  beforeSystemRun: (system: System) => Promise<void>;
  afterSystemRun: (system: System, report: BenchReport | undefined) => Promise<Partial<RedisMemory>>;
} {
  let usedBefore = Number.NaN;
  return {
    async beforeSystemRun(system) {
      if (!system.redisPrefix) return;
      const redis = await MiniRedis.connect(REDIS_URL);
      usedBefore = await redis.usedMemory();
      redis.close();
    },
    async afterSystemRun(system, report) {
      if (!system.redisPrefix) return {};
      const redis = await MiniRedis.connect(REDIS_URL);
      try {
        const usedAfter = await redis.usedMemory();
        const admitted = report?.counters?.final?.issued ?? Number.NaN;
        return {
          redisUsedBefore: usedBefore,
          redisUsedAfter: usedAfter,
          bytesPerAdmittedClaim: (usedAfter - usedBefore) / admitted,
          families: await memoryByFamily(redis, system.redisPrefix),
        };
      } finally {
        redis.close();
      }
    },
  };
}

/** Prints a run's Redis figures (from its RunFigures.extra); false when over the 200 B per claim target. */
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
