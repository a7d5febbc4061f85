// spike-admit: stock = users = 100,000 at concurrency 500: every claim goes the whole way
// (admission, queue, ledger). Targets: embedded >= 75% of the ceiling, Redis Streams >= 60%,
// Kafka >= 50%; everything issued within 1 s of the last 202; admission p99 <= 2x the ceiling's.
// Usage: bench/run.sh spike-admit [--mode embedded|redis|kafka] [--pairs 3] [--profile]
import { ms } from "../engine/format.ts";
import { parseScenarioArgs } from "../harness/args.ts";
import { log, printPairs } from "../harness/figures.ts";
import { Scenario } from "../harness/scenario.ts";

const TARGET = { embedded: 0.75, redis: 0.6, kafka: 0.5 } as const;
const args = parseScenarioArgs(import.meta.url, { deadlineMinutes: 30 });
const users = String(args.users ?? 100_000);
const scenario = new Scenario(
  {
    name: "spike-admit",
    benchArgs: ["--users", users, "--stock", users, "--concurrency", args.concurrency ?? "500"],
    runTimeoutMs: 6 * 60_000,
  },
  args,
);
const summary = await scenario.pairs();
const target = TARGET[args.mode];
printPairs(summary, target);
const systems = summary.pairs.map((p) => p.system);
const settled = systems.every((s) => s.settleMs !== undefined && s.settleMs <= 1000);
log(
  `settle (pending = 0 after the last 202, 50 ms sampling): ${systems.map((s) => ms(s.settleMs)).join(", ")}; ` +
    `server clock, last issued after last admitted: ${systems.map((s) => ms(s.serverSettleMs)).join(", ")} ` +
    `(target <= 1 s: ${settled ? "MET" : "NOT MET"})`,
);
log(`admission -> issued p99: ${systems.map((s) => ms(s.toIssuedP99)).join(", ")}`);
const met =
  summary.allSystemRunsPass && summary.medianRpsRatio >= target && summary.medianP99Ratio <= 2 && settled;
scenario.finish({ ...summary, targetRatio: target, settled, targetMet: met });
process.exit(summary.allSystemRunsPass ? 0 : 1);
