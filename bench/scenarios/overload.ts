// overload: what stampede does at 3x the rate it can sustain. Every request must be answered
// (202/409/410, or a quick 503 with Retry-After while it sheds load, retried by the client as
// a real one would) and the invariants must hold; nothing may time out or be reset.
// --sustainable gives that rate; --probe finds it first (the highest rate whose 5 s run passes with
// admission p99 < 50 ms and no 503, doubling then bisecting, as sustained does). Each run is
// `stampede bench --rate` against a fresh system, stock = requests (every claim admitted); the
// embedded mode keeps FSYNC=always (the real promise); overload settings come from the
// environment (e.g. OVERLOAD_MAX_EVENT_LOOP_DELAY_MS).
// Usage: bench/run.sh overload --sustainable 625 [--factor 3] [--seconds 20] [--mode embedded]
//        bench/run.sh overload --probe [--start-rate 1000]
import { num } from "../engine/format.ts";
import { intFlag, parseScenarioArgs } from "../harness/args.ts";
import { log, type RunFigures } from "../harness/figures.ts";
import { highestRate } from "../harness/rate-search.ts";
import { Scenario } from "../harness/scenario.ts";

const P99_BOUND_MS = 50;
const args = parseScenarioArgs(
  import.meta.url,
  { deadlineMinutes: 30, pairs: 1 },
  {
    sustainable: { type: "string", doc: "the sustainable rate in requests/s (sustained finds it)" },
    probe: { type: "boolean", doc: "find the sustainable rate first" },
    "start-rate": { type: "string", doc: "requests/s of the first probe", default: "1000" },
    "probe-seconds": { type: "string", doc: "seconds per probe", default: "5" },
    factor: { type: "string", doc: "the overload, as a multiple of the sustainable rate", default: "3" },
    seconds: { type: "string", doc: "seconds of overload", default: "20" },
  },
);
if (!args.extra.probe && args.extra.sustainable === undefined) {
  process.stderr.write("overload: give --sustainable <requests/s> or --probe\n");
  process.exit(2);
}
const concurrency = args.concurrency ?? "5000";
const load = (rate: number, seconds: number) => {
  const users = String(Math.max(1, Math.round(rate * seconds)));
  return ["--rate", String(rate), "--users", users, "--stock", users, "--concurrency", concurrency];
};
const scenario = new Scenario({ name: "overload", benchArgs: [], runTimeoutMs: 15 * 60_000 }, args);
const sustainedOk = (f: RunFigures) =>
  f.ok && f.connectionErrors === 0 && (f.byStatus["503"] ?? 0) === 0 && f.p99 < P99_BOUND_MS;

const sustainable = args.extra.probe
  ? await highestRate({
      label: "system",
      startRate: intFlag(args, "start-rate", 1),
      good: sustainedOk,
      probe: (rate) => scenario.systemRun(load(rate, intFlag(args, "probe-seconds", 1))),
    })
  : intFlag(args, "sustainable", 1);
if (!(sustainable > 0)) {
  log("overload: no sustainable rate found");
  process.exit(1);
}
const factor = Number(args.extra.factor);
const rate = Math.round(sustainable * factor);
log(`overload: sustainable ${num(sustainable)}/s; firing ${num(rate)}/s for ${args.extra.seconds} s`);
const { figures, report } = await scenario.systemReport(load(rate, intFlag(args, "seconds", 1)));
if (!report) {
  log(`overload: no report from stampede bench: ${figures.failures.join("; ")}`);
  process.exit(1);
}
const { byStatus, connectionErrors, retried } = report.answers;
const admission = report.latency.admission;
const result = {
  sustainable,
  factor,
  rate,
  achievedRate: Math.round(report.firing.requestsPerSecond),
  answers: byStatus,
  connectionErrors,
  retried,
  shed503: byStatus["503"] ?? 0,
  admission,
  latency503: report.latency.byStatus["503"],
  everyRequestAnswered: figures.connectionErrors === 0,
  invariantsHeld: report.pass,
};
log(
  `overload at ${factor}x (${num(rate)}/s): answers ${JSON.stringify(byStatus)}, ${num(result.shed503)} shed with 503, ` +
    `${num(retried)} retried after Retry-After, connection errors ${num(figures.connectionErrors)}, ` +
    `admission p50/p99/max ${[admission.p50, admission.p99, admission.max].map((v) => num(v)).join("/")} ms, ` +
    `invariants ${report.pass ? "held" : "FAILED"}`,
);
for (const f of figures.failures) log(`  !! ${f}`);
scenario.finish({ result });
process.exit(result.everyRequestAnswered && result.invariantsHeld ? 0 : 1);
