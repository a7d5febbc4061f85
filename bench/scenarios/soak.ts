// soak: a long run at a fixed rate in distributed mode (1 API + 1 worker, QUEUE=redis by default),
// reading every stampede process's RSS every few seconds. Reports, per process, RSS growth in MB per
// minute after the warm-up (least-squares line through the samples), admission p99 of the first
// minute against the last, and SPEC invariants 1-5 (stampede bench's, with the PostgreSQL ledger's
// rows). Targets (issue 7): growth < 1 MB/min, last minute's p99 within 20% of the first's.
// Not run in CI: it takes the whole --minutes plus the settle and checks.
//
// Usage: bench/run.sh soak [--rate 500] [--minutes 10] [--warmup-minutes 1] [--sample-seconds 5]
//                          [--mode redis|kafka|embedded] [--concurrency 2000] [--out-dir bench/results]
// --rate should be half the sustainable rate (bench/run.sh sustained --mode redis finds that rate).
// Writes soak-<mode>-<time>.json (figures, every RSS sample, the bench report) and prints a summary.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { linearFit } from "../engine/stats.ts";
import { machine } from "../harness/kernel.ts";
import { ADMIN_TOKEN, DATABASE_URL, MODES, type Mode, startSystem } from "../harness/modes.ts";
import { runBench } from "../harness/processes.ts";
import { log, ms, num } from "../harness/scenario.ts";

const GROWTH_TARGET_MB_PER_MIN = 1;
const P99_DRIFT_TARGET = 1.2;
const WINDOW_MS = 60_000;

const { values } = parseArgs({
  args: process.argv.slice(2),
  strict: true,
  options: {
    rate: { type: "string", default: "500" },
    minutes: { type: "string", default: "10" },
    "warmup-minutes": { type: "string", default: "1" },
    "sample-seconds": { type: "string", default: "5" },
    mode: { type: "string", default: "redis" },
    concurrency: { type: "string", default: "2000" },
    "out-dir": { type: "string", default: "bench/results" },
    help: { type: "boolean", short: "h" },
  },
});
if (values.help) {
  log(
    readFileSync(new URL(import.meta.url), "utf8")
      .split("\nimport ")[0]!
      .replace(/^\/\/ ?/gm, ""),
  );
  process.exit(0);
}
const positive = (name: string, raw: string | undefined) => {
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) {
    process.stderr.write(`soak: --${name}: expected a positive number, got "${raw}"\n`);
    process.exit(2);
  }
  return n;
};
const rate = Math.round(positive("rate", values.rate));
const minutes = Math.round(positive("minutes", values.minutes));
const warmupMinutes = Number(values["warmup-minutes"]);
const sampleMs = positive("sample-seconds", values["sample-seconds"]) * 1000;
const mode = values.mode as Mode;
if (!MODES.includes(mode)) {
  process.stderr.write(`soak: --mode: expected ${MODES.join(" | ")}, got "${mode}"\n`);
  process.exit(2);
}
if (!(warmupMinutes >= 0 && warmupMinutes <= minutes - 1)) {
  process.stderr.write("soak: --warmup-minutes must leave at least a minute to fit a line through\n");
  process.exit(2);
}
const outDir = values["out-dir"]!;
mkdirSync(outDir, { recursive: true });
// Bounded in time whatever happens: the processes are killed by harness/processes.ts's exit handler.
setTimeout(
  () => {
    process.stderr.write("soak: deadline passed; stopping\n");
    process.exit(3);
  },
  (minutes + 30) * 60_000,
).unref();

interface Sample {
  /** Epoch ms of the read. */
  at: number;
  /** Resident set size per process, bytes (absent once a process has exited). */
  rss: Record<string, number>;
  /** V8 heap in use per process, bytes, from its /metrics (absent when it did not answer): tells a leak from heap growth. */
  heapUsed: Record<string, number>;
  load1: number;
}

const rssOf = (pid: number): number | undefined => {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
};
const load1 = () => Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]);

const startMachine = machine();
log(`soak: ${mode} mode, ${num(rate)} req/s for ${minutes} min; machine load ${startMachine.load}`);
const system = await startSystem(mode);
// Workers listen too (/healthz, /readyz, /metrics); the system start does not wait for their URL.
const metricsUrl = (p: (typeof system.processes)[number]) =>
  p.url ?? /listening on (http:\/\/\S+)/.exec(p.output())?.[1];
const heapUsedOf = async (url: string | undefined): Promise<number | undefined> => {
  if (!url) return undefined;
  try {
    const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(2000) })).text();
    const match = /^nodejs_heap_size_used_bytes (\S+)/m.exec(text);
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
};
const samples: Sample[] = [];
const take = async () => {
  const at = Date.now();
  const rss: Record<string, number> = {};
  const heapUsed: Record<string, number> = {};
  for (const p of system.processes) {
    const bytes = rssOf(p.pid);
    if (bytes !== undefined) rss[p.name] = bytes;
    const heap = await heapUsedOf(metricsUrl(p));
    if (heap !== undefined) heapUsed[p.name] = heap;
  }
  samples.push({ at, rss, heapUsed, load1: load1() });
};
await take();
const sampler = setInterval(() => void take(), sampleMs);

const users = rate * minutes * 60;
const benchArgs = [
  ...system.targets.flatMap((t) => ["--target", t]),
  "--admin-token",
  ADMIN_TOKEN,
  "--rate",
  String(rate),
  "--users",
  String(users),
  "--stock",
  String(users),
  "--concurrency",
  values.concurrency!,
  // Unmeasured claims first, so the first minute measures the server, not V8 compiling it.
  "--warmup",
  "5000",
  "--latency-window",
  String(WINDOW_MS),
  ...(system.databaseSchema
    ? ["--database-url", DATABASE_URL, "--database-schema", system.databaseSchema]
    : []),
];
let result: Awaited<ReturnType<typeof runBench>>;
try {
  result = await runBench(benchArgs, { timeoutMs: (minutes + 25) * 60_000 });
} finally {
  clearInterval(sampler);
  await system.stop();
}
const report = result.report;
if (!report) {
  log(
    `soak: no report from stampede bench (exit ${result.code}):\n${result.stderr.trim().split("\n").slice(-10).join("\n")}`,
  );
  process.exit(1);
}

// Time 0 is the first measured request; the fit uses what was sampled while the load ran, after the warm-up.
const firingStart = Date.parse(report.startedAt);
const firingEnd = firingStart + report.firing.durationMs;
const names = system.processes.map((p) => p.name);
const during = samples.filter((s) => s.at >= firingStart && s.at <= firingEnd);
const growthOf = (name: string, field: "rss" | "heapUsed") => {
  const points = during
    .filter((s) => s[field][name] !== undefined && s.at - firingStart >= warmupMinutes * 60_000)
    .map((s) => ({ x: (s.at - firingStart) / 60_000, y: s[field][name]! / 1048576 }));
  return { slope: linearFit(points).slope, points: points.length };
};
const processes = Object.fromEntries(
  names.map((name) => {
    const all = during.map((s) => s.rss[name]).filter((b): b is number => b !== undefined);
    const heaps = during.map((s) => s.heapUsed[name]).filter((b): b is number => b !== undefined);
    const { slope: growth, points } = growthOf(name, "rss");
    return [
      name,
      {
        growthMBPerMin: growth,
        samplesFitted: points,
        heapUsedGrowthMBPerMin: growthOf(name, "heapUsed").slope,
        heapUsedMBAtStart: heaps.length ? heaps[0]! / 1048576 : Number.NaN,
        heapUsedMBAtEnd: heaps.length ? heaps.at(-1)! / 1048576 : Number.NaN,
        rssMBAtStart: all.length ? all[0]! / 1048576 : Number.NaN,
        rssMBAtEnd: all.length ? all.at(-1)! / 1048576 : Number.NaN,
        rssMBPeak: all.length ? Math.max(...all) / 1048576 : Number.NaN,
        met: growth < GROWTH_TARGET_MB_PER_MIN,
      },
    ];
  }),
);
const windows = report.latency.windows?.summaries ?? [];
const first = windows[0];
const last = windows[minutes - 1];
const drift = first && last ? last.p99 / first.p99 : Number.NaN;
const loads = during.map((s) => s.load1);
const summary = {
  scenario: "soak",
  mode,
  rate,
  minutes,
  warmupMinutes,
  sampleSeconds: sampleMs / 1000,
  machine: { ...startMachine, loadAtEnd: machine().load },
  load1DuringRun: {
    min: Math.min(...loads),
    mean: loads.reduce((a, b) => a + b, 0) / (loads.length || 1),
    max: Math.max(...loads),
  },
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
  invariants: report.invariants.map((i) => ({ id: i.id, name: i.name, pass: i.pass, failures: i.failures })),
  pass: report.pass,
  samples: samples.map((s) => ({
    t: (s.at - firingStart) / 1000,
    load1: s.load1,
    rss: s.rss,
    heapUsed: s.heapUsed,
  })),
  report,
};
const stamp = new Date().toISOString().replace(/[:.]/g, "-");
const file = join(outDir, `soak-${mode}-${stamp}.json`);
writeFileSync(file, `${JSON.stringify(summary, null, 2)}\n`);

const mb = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : "n/a");
const verdict = (met: boolean) => (met ? "met" : "NOT MET");
log(
  `\nsoak ${mode}: ${num(rate)} req/s asked, ${num(report.firing.requestsPerSecond)} achieved, ${minutes} min; ` +
    `load average (1 min) during the run ${summary.load1DuringRun.min.toFixed(1)}-${summary.load1DuringRun.max.toFixed(1)} ` +
    `(mean ${summary.load1DuringRun.mean.toFixed(1)})`,
);
for (const [name, p] of Object.entries(processes))
  log(
    `  ${name}: RSS ${mb(p.rssMBAtStart)} -> ${mb(p.rssMBAtEnd)} MB (peak ${mb(p.rssMBPeak)}); growth after ` +
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
for (const i of report.invariants) for (const f of i.failures) log(`  !! ${i.id}. ${f}`);
log(`summary: ${file}`);
const met = Object.values(processes).every((p) => p.met) && drift <= P99_DRIFT_TARGET;
process.exit(report.pass && met ? 0 : 1);
