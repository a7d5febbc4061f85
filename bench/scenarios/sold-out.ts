// sold-out: 100,000 users, stock 100, concurrency 500: the rejection path once the stock is gone.
// Targets: >= 85% of the ceiling's requests/s in every mode; admission p99 <= 2x the ceiling's.
// Usage: bench/run.sh sold-out [--mode embedded|redis|kafka] [--profile]
import { parseScenarioArgs } from "../harness/args.ts";
import { printPairs, Scenario } from "../harness/scenario.ts";

const args = parseScenarioArgs(process.argv.slice(2), { deadlineMinutes: 30 });
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
printPairs(summary, 0.85);
const met = summary.allSystemRunsPass && summary.medianRpsRatio >= 0.85 && summary.medianP99Ratio <= 2;
scenario.finish({ ...summary, targetRatio: 0.85, targetMet: met });
process.exit(summary.allSystemRunsPass ? 0 : 1);
