// redis-spike: one quick spike at the distributed mode alone, no ceiling: 1 `stampede api` +
// 1 `stampede worker` (--mode redis, the default, or kafka), a campaign of --stock claims, one
// claim per user fired at --concurrency (default: all at once), every admitted claim waited for;
// prints requests/s, admission p50/p99/max and admission-to-issued p50/p99 (from the server's
// admittedAt/issuedAt). --memory adds Redis bytes per admitted claim once drained, measured as
// spike-1m measures it. For a quick look at a distributed change; the figures that count are
// spike-10k's interleaved pairs. --shards N splits the campaign over N shards (docs/scaling.md
// "Hot campaign: shards"): run it against a Redis Cluster (REDIS_URL=redis+cluster://...) with
// --shards 1 and --shards 8 to compare one hot slot with eight.
// Usage: bench/run.sh redis-spike [--mode redis|kafka] [--users 10000] [--stock 100] [--concurrency 500] [--shards 1] [--memory]
import { ms, num } from "../engine/format.ts";
import { intFlag, parseScenarioArgs } from "../harness/args.ts";
import { log } from "../harness/figures.ts";
import { printRedisMemory, redisMemoryHooks } from "../harness/redis-memory.ts";
import { Scenario } from "../harness/scenario.ts";

const args = parseScenarioArgs(
  import.meta.url,
  { deadlineMinutes: 20, pairs: 1, mode: "redis" },
  {
    stock: { type: "string", doc: "stock of the campaign", default: "100" },
    memory: { type: "boolean", doc: "also measure Redis bytes per admitted claim" },
    shards: { type: "string", doc: "shards of the campaign (1-16)", default: "1" },
  },
);
const scenario = new Scenario(
  {
    name: "redis-spike",
    benchArgs: [
      "--users",
      String(args.users ?? 10_000),
      "--stock",
      String(intFlag(args, "stock", 1)),
      "--concurrency",
      args.concurrency ?? "all",
      "--shards",
      String(intFlag(args, "shards", 1)),
    ],
    runTimeoutMs: 10 * 60_000,
    ...(args.extra.memory ? redisMemoryHooks() : {}),
  },
  args,
);
let pass = true;
for (let i = 0; i < args.pairs; i++) {
  const f = await scenario.systemRun();
  log(
    `run ${i + 1}: ${num(f.rps)} req/s, answers ${JSON.stringify(f.byStatus)}, admission p50 ${ms(f.p50)} ` +
      `p99 ${ms(f.p99)} max ${ms(f.max)}; admission -> issued p50 ${ms(f.toIssuedP50)} p99 ${ms(f.toIssuedP99)}; ` +
      `invariants ${f.ok ? "PASS" : "FAIL"}`,
  );
  for (const failure of f.failures) log(`  !! ${failure}`);
  if (args.extra.memory) printRedisMemory(f.extra);
  pass &&= f.ok;
}
scenario.finish({});
process.exit(pass ? 0 : 1);
