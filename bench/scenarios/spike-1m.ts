// spike-1m: 1,000,000 distinct users (16-character ids), stock 100,000, concurrency 2,000.
// Meant for the distributed modes: Redis memory per admitted claim (INFO memory before/after,
// MEMORY USAGE of each key family) and peak RSS of every stampede process.
// Targets: <= 200 bytes of Redis memory per admitted claim once drained; every process < 300 MB RSS.
// In embedded mode it reports the peak RSS only.
// Usage: bench/run.sh spike-1m --mode redis [--pairs 1]
import { num } from "../engine/format.ts";
import { parseScenarioArgs } from "../harness/args.ts";
import { log, printPairs } from "../harness/figures.ts";
import { printRedisMemory, redisMemoryHooks } from "../harness/redis-memory.ts";
import { Scenario } from "../harness/scenario.ts";

const args = parseScenarioArgs(import.meta.url, { deadlineMinutes: 60, pairs: 1 });
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
    ...redisMemoryHooks(),
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
  if (!printRedisMemory(system.extra)) met = false;
}
scenario.finish({ ...summary, targetMet: met });
process.exit(summary.allSystemRunsPass ? 0 : 1);
