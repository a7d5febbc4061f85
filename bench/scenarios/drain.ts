// drain: admission-to-issued latency and ledger rows/s as the worker's batch size and flush
// interval change (BATCH_SIZE x FLUSH_INTERVAL_MS), each on a spike-admit-like load (every claim
// admitted). There is no ceiling for the ledger, so this runs the system only (--pairs runs per setting).
// Usage: bench/run.sh drain [--mode ...] [--batches 100,1000,5000] [--flushes 0,2,10] [--users 50000]
import { ms, num } from "../engine/format.ts";
import { median } from "../engine/stats.ts";
import { parseScenarioArgs } from "../harness/args.ts";
import { log, type RunFigures } from "../harness/figures.ts";
import { Scenario } from "../harness/scenario.ts";

const args = parseScenarioArgs(
  import.meta.url,
  { deadlineMinutes: 45, pairs: 1 },
  {
    batches: { type: "string", doc: "BATCH_SIZE values, comma-separated", default: "100,1000,5000" },
    flushes: { type: "string", doc: "FLUSH_INTERVAL_MS values, comma-separated", default: "0,2,10" },
  },
);
const list = (name: string) => String(args.extra[name]).split(",").map(Number);
const users = String(args.users ?? 50_000);
const scenario = new Scenario(
  {
    name: "drain",
    benchArgs: ["--users", users, "--stock", users, "--concurrency", args.concurrency ?? "500"],
    runTimeoutMs: 6 * 60_000,
  },
  args,
);
const rows: Record<string, unknown>[] = [];
const medianOf = (runs: RunFigures[], figure: (r: RunFigures) => number | undefined) =>
  median(runs.map((r) => figure(r) ?? Number.NaN));
log("BATCH_SIZE FLUSH_MS  admitted/s  to-issued p50  to-issued p99  settle  ledger rows/s");
for (const batch of list("batches"))
  for (const flush of list("flushes")) {
    const runs: RunFigures[] = [];
    for (let i = 0; i < args.pairs; i++)
      runs.push(
        await scenario.systemRun(undefined, {
          env: { BATCH_SIZE: String(batch), FLUSH_INTERVAL_MS: String(flush) },
        }),
      );
    const row = {
      batch,
      flush,
      rps: medianOf(runs, (r) => r.rps),
      toIssuedP50: medianOf(runs, (r) => r.toIssuedP50),
      toIssuedP99: medianOf(runs, (r) => r.toIssuedP99),
      issuedPerSecond: medianOf(runs, (r) => r.issuedPerSecond),
      settleMs: medianOf(runs, (r) => r.settleMs),
      pass: runs.every((r) => r.ok),
    };
    rows.push(row);
    log(
      `${String(batch).padStart(10)} ${String(flush).padStart(8)}  ${num(row.rps).padStart(10)}  ` +
        `${ms(row.toIssuedP50).padStart(13)}  ${ms(row.toIssuedP99).padStart(13)}  ${ms(row.settleMs).padStart(6)}  ` +
        `${num(row.issuedPerSecond).padStart(13)}${row.pass ? "" : "  FAIL"}`,
    );
  }
scenario.finish({ rows });
process.exit(rows.every((r) => r.pass) ? 0 : 1);
