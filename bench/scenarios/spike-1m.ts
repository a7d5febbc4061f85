// spike-1m: 1,000,000 distinct users (16-character ids), stock 100,000, concurrency 2,000.
// Meant for the distributed modes: Redis memory per admitted claim (INFO memory before/after,
// MEMORY USAGE of each key family) and peak RSS of every stampede process.
// Targets: <= 200 bytes of Redis memory per admitted claim once drained; every process < 300 MB RSS.
// In embedded mode it reports the peak RSS only. Usage: bench/run.sh spike-1m --mode redis
import { parseScenarioArgs } from "../harness/args.ts";
import { REDIS_URL } from "../harness/modes.ts";
import { MiniRedis, memoryByFamily } from "../harness/redis.ts";
import { log, num, printPairs, Scenario } from "../harness/scenario.ts";

const args = parseScenarioArgs(process.argv.slice(2), { deadlineMinutes: 60, pairs: 1 });
let usedBefore = Number.NaN;
const scenario = new Scenario(
  {
    name: "spike-1m",
    benchArgs: [
      "--users",
      String(args.users ?? 1_000_000),
      "--user-id-length",
      "16",
      "--stock",
      "100000",
      "--concurrency",
      args.concurrency ?? "2000",
      "--settle-timeout",
      "300000",
    ],
    runTimeoutMs: 20 * 60_000,
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
        const families = await memoryByFamily(redis, system.redisPrefix);
        const admitted = report?.counters?.final?.issued ?? Number.NaN;
        return {
          redisUsedBefore: usedBefore,
          redisUsedAfter: usedAfter,
          bytesPerAdmittedClaim: (usedAfter - usedBefore) / admitted,
          families,
        };
      } finally {
        redis.close();
      }
    },
  },
  args,
);
const summary = await scenario.pairs();
printPairs(summary);
let met = summary.allSystemRunsPass;
for (const { system } of summary.pairs) {
  const rss = system.peakRssMiB ?? {};
  log(
    `peak RSS (MiB): ${Object.entries(rss)
      .map(([name, v]) => `${name} ${num(v)}`)
      .join(", ")}`,
  );
  if (Object.values(rss).some((v) => v >= 300)) met = false;
  const perClaim = system.extra?.bytesPerAdmittedClaim as number | undefined;
  if (perClaim !== undefined) {
    log(`Redis: ${num(perClaim)} bytes per admitted claim (target <= 200), families:`);
    for (const [family, f] of Object.entries(
      system.extra?.families as Record<string, { keys: number; bytes: number }>,
    ))
      log(`  ${family}: ${num(f.keys)} keys, ${num(f.bytes)} bytes`);
    if (!(perClaim <= 200)) met = false;
  } else log("Redis memory: not measured (embedded mode has no Redis)");
}
scenario.finish({ ...summary, targetMet: met });
process.exit(summary.allSystemRunsPass ? 0 : 1);
