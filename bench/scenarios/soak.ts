// soak: a long run at a fixed rate in distributed mode (1 API + 1 worker, QUEUE=redis by default),
// reading every stampede process's RSS every few seconds. Reports, per process, RSS growth in MB per
// minute after the warm-up (least-squares line through the samples), admission p99 of the first
// minute against the last, and SPEC invariants 1-5 (stampede bench's, with the PostgreSQL ledger's
// rows). Targets (issue 7): growth < 1 MB/min, last minute's p99 within 20% of the first's.
// Not run in CI: it takes the whole --minutes plus the settle and checks.
// --rate should be half the sustainable rate (bench/run.sh sustained --mode redis finds that rate).
// Writes soak-<mode>-<time>.json (figures, every RSS sample) beside the raw report, prints a summary,
// and stops by itself after --deadline-minutes or --minutes + 30, whichever is longer.
// Usage: bench/run.sh soak [--rate 500] [--minutes 10] [--warmup-minutes 1] [--sample-seconds 5]
//                          [--mode redis|kafka|embedded] [--concurrency 2000] [--out-dir bench/results]
import { ms, num } from "../engine/format.ts";
import { intFlag, parseScenarioArgs } from "../harness/args.ts";
import { log } from "../harness/figures.ts";
import { MemorySampler } from "../harness/memory-sampler.ts";
import { Scenario } from "../harness/scenario.ts";

const GROWTH_TARGET_MB_PER_MIN = 1;
const P99_DRIFT_TARGET = 1.2;
const WINDOW_MS = 60_000;

const parsed = parseScenarioArgs(
  import.meta.url,
  { deadlineMinutes: 40, mode: "redis" },
  {
    rate: { type: "string", doc: "requests/s", default: "500" },
    minutes: { type: "string", doc: "length of the run", default: "10" },
    "warmup-minutes": { type: "string", doc: "minutes left out of the memory fit", default: "1" },
    "sample-seconds": { type: "string", doc: "seconds between memory reads", default: "5" },
  },
);
const rate = intFlag(parsed, "rate", 1);
const minutes = intFlag(parsed, "minutes", 1);
const warmupMinutes = intFlag(parsed, "warmup-minutes", 0);
const sampleMs = intFlag(parsed, "sample-seconds", 1) * 1000;
if (warmupMinutes > minutes - 1) {
  process.stderr.write("soak: --warmup-minutes must leave at least a minute to fit a line through\n");
  process.exit(2);
}
const args = { ...parsed, deadlineMinutes: Math.max(parsed.deadlineMinutes, minutes + 30) };
const users = String(rate * minutes * 60);
let sampler: MemorySampler | undefined;
const scenario = new Scenario(
  {
    name: "soak",
    benchArgs: [
      "--rate",
      String(rate),
      "--users",
      users,
      "--stock",
      users,
      "--concurrency",
      args.concurrency ?? "2000",
      // Unmeasured claims first, so the first minute measures the server, not V8 compiling it.
      "--warmup",
      "5000",
      "--latency-window",
      String(WINDOW_MS),
    ],
    runTimeoutMs: (minutes + 25) * 60_000,
    checkLedger: true,
    async beforeSystemRun(system) {
      sampler = new MemorySampler(system.processes, sampleMs);
      await sampler.start();
    },
    async afterSystemRun() {
      sampler?.stop();
      return {};
    },
  },
  args,
);

log(`soak: ${args.mode} mode, ${num(rate)} req/s for ${minutes} min`);
const { figures, report } = await scenario.systemReport();
if (!report || !sampler) {
  log(`soak: no report from stampede bench: ${figures.failures.join("; ")}`);
  process.exit(1);
}

// Time 0 is the first measured request; the fit uses what was sampled while the load ran, after the warm-up.
const firingStart = Date.parse(report.startedAt);
const firingEnd = firingStart + report.firing.durationMs;
const processes = Object.entries(sampler.growth(firingStart, firingEnd, warmupMinutes * 60_000)).map(
  ([name, growth]) => ({ name, ...growth, met: growth.growthMBPerMin < GROWTH_TARGET_MB_PER_MIN }),
);
const windows = report.latency.windows?.summaries ?? [];
const first = windows[0];
const last = windows[minutes - 1];
const drift = first && last ? last.p99 / first.p99 : Number.NaN;
const loads = sampler.during(firingStart, firingEnd).map((s) => s.load1);
const load1DuringRun = {
  min: Math.min(...loads),
  mean: loads.reduce((a, b) => a + b, 0) / (loads.length || 1),
  max: Math.max(...loads),
};

const mb = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : "n/a");
const verdict = (met: boolean) => (met ? "met" : "NOT MET");
log(
  `\nsoak ${args.mode}: ${num(rate)} req/s asked, ${num(report.firing.requestsPerSecond)} achieved, ${minutes} min; ` +
    `load average (1 min) during the run ${load1DuringRun.min.toFixed(1)}-${load1DuringRun.max.toFixed(1)} ` +
    `(mean ${load1DuringRun.mean.toFixed(1)})`,
);
for (const p of processes)
  log(
    `  ${p.name}: RSS ${mb(p.rssMBAtStart)} -> ${mb(p.rssMBAtEnd)} MB (peak ${mb(p.rssMBPeak)}); growth after ` +
      `${warmupMinutes} min ${mb(p.growthMBPerMin)} MB/min over ${p.samplesFitted} samples ` +
      `(target < ${GROWTH_TARGET_MB_PER_MIN}: ${verdict(p.met)}); V8 heap in use ${mb(p.heapUsedMBAtStart)} -> ` +
      `${mb(p.heapUsedMBAtEnd)} MB, ${mb(p.heapUsedGrowthMBPerMin)} MB/min`,
  );
log(
  `  admission p99: first minute ${ms(first?.p99)}, last minute ${ms(last?.p99)}, ratio ${
    Number.isFinite(drift) ? drift.toFixed(2) : "n/a"
  } (target <= ${P99_DRIFT_TARGET}: ${verdict(drift <= P99_DRIFT_TARGET)}); per minute: ${windows.map((w) => ms(w.p99)).join(", ")}`,
);
log(`  answers ${JSON.stringify(report.answers.byStatus)}; invariants ${report.pass ? "PASS" : "FAIL"}`);
for (const f of figures.failures) log(`  !! ${f}`);
scenario.finish({
  rate,
  minutes,
  warmupMinutes,
  sampleSeconds: sampleMs / 1000,
  load1DuringRun,
  achievedRequestsPerSecond: report.firing.requestsPerSecond,
  processes,
  p99: {
    firstMinuteMs: first?.p99,
    lastMinuteMs: last?.p99,
    ratio: drift,
    met: drift <= P99_DRIFT_TARGET,
    perMinuteMs: windows.map((w) => w.p99),
  },
  admission: report.latency.admission,
  answers: report.answers,
  pass: report.pass,
  samples: sampler.samples.map((s) => ({ ...s, t: (s.at - firingStart) / 1000 })),
});
const met = processes.every((p) => p.met) && drift <= P99_DRIFT_TARGET;
process.exit(report.pass && met ? 0 : 1);
