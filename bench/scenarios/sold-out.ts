// sold-out: 100,000 users, stock 100, concurrency 500: the rejection path once the stock is gone.
// Targets: >= 85% of the ceiling's requests/s in every mode; admission p99 <= 2x the ceiling's.
// Usage: bench/run.sh sold-out [--mode embedded|redis|kafka] [--pairs 3] [--profile]
import { parseScenarioArgs } from "../harness/args.ts";
import { printPairs } from "../harness/figures.ts";
import { Scenario } from "../harness/scenario.ts";

const TARGET = 0.85;
const args = parseScenarioArgs(import.meta.url, { deadlineMinutes: 30 });
const scenario = new Scenario(
  {
    name: "sold-out",
    benchArgs: [
      "--users",
      String(args.users ?? 100_000),
      "--stock",
      "100",
      "--concurrency",
      args.concurrency ?? "500",
    ],
    runTimeoutMs: 5 * 60_000,
  },
  args,
);
const summary = await scenario.pairs();
printPairs(summary, TARGET);
const met = summary.allSystemRunsPass && summary.medianRpsRatio >= TARGET && summary.medianP99Ratio <= 2;
scenario.finish({ ...summary, targetRatio: TARGET, targetMet: met });
process.exit(summary.allSystemRunsPass ? 0 : 1);
