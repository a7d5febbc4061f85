// spike-10k: 10,000 users, stock 100, every request at once (one new connection each).
// Target: zero connection errors, zero 5xx, every invariant PASS, in every mode; listen-queue
// overflows reported beside the latency.
// Usage: bench/run.sh spike-10k [--mode embedded|redis|kafka] [--pairs 3]
import { num } from "../engine/format.ts";
import { parseScenarioArgs } from "../harness/args.ts";
import { log, printPairs } from "../harness/figures.ts";
import { Scenario } from "../harness/scenario.ts";

const args = parseScenarioArgs(import.meta.url, { deadlineMinutes: 20 });
const scenario = new Scenario(
  {
    name: "spike-10k",
    benchArgs: [
      "--users",
      String(args.users ?? 10_000),
      "--stock",
      "100",
      "--concurrency",
      args.concurrency ?? "all",
    ],
    runTimeoutMs: 5 * 60_000,
  },
  args,
);
const summary = await scenario.pairs();
printPairs(summary);
const systems = summary.pairs.map((p) => p.system);
const clean = systems.every((s) => s.ok && s.connectionErrors === 0 && s.status5xx === 0);
log(
  `target (zero connection errors, zero 5xx, invariants PASS): ${clean ? "MET" : "NOT MET"}; ` +
    `listen overflows per system run: ${systems.map((s) => num(s.listen?.overflows)).join(", ")}`,
);
scenario.finish({ ...summary, targetMet: clean });
process.exit(clean ? 0 : 1);
