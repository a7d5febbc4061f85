// sustained: the highest fixed rate at which admission p99 stays under 50 ms, found with short
// probes (rate doubled, then bisected), then held for --duration seconds (60) in interleaved
// ceiling/system pairs. Every claim is admitted (stock = requests): the whole pipeline runs.
// Usage: bench/run.sh sustained [--mode ...] [--duration 60] [--probe-seconds 5] [--start-rate 1000]
import { ms, num, pct } from "../engine/format.ts";
import { median } from "../engine/stats.ts";
import { intFlag, parseScenarioArgs } from "../harness/args.ts";
import { log, type Pair, type RunFigures } from "../harness/figures.ts";
import { highestRate } from "../harness/rate-search.ts";
import { Scenario } from "../harness/scenario.ts";

const P99_BOUND_MS = 50;
const args = parseScenarioArgs(
  import.meta.url,
  { deadlineMinutes: 45 },
  {
    duration: { type: "string", doc: "seconds to hold the rate found", default: "60" },
    "probe-seconds": { type: "string", doc: "seconds per probe", default: "5" },
    "start-rate": { type: "string", doc: "requests/s of the first probe", default: "1000" },
  },
);
const duration = intFlag(args, "duration", 1);
const probeSeconds = intFlag(args, "probe-seconds", 1);
const load = (rate: number, seconds: number) => {
  const users = String(Math.round(rate * seconds));
  return [
    "--rate",
    String(rate),
    "--users",
    users,
    "--stock",
    users,
    "--concurrency",
    args.concurrency ?? "2000",
    // Every probe starts a fresh process: warm its JIT first, or p99 measures the cold start.
    "--warmup",
    "20000",
  ];
};
const scenario = new Scenario(
  { name: "sustained", benchArgs: [], runTimeoutMs: (duration + 180) * 1000 },
  args,
);
const good = (f: RunFigures) => f.ok && f.connectionErrors === 0 && f.p99 < P99_BOUND_MS;
const search = (label: "ceiling" | "system") =>
  highestRate({
    label,
    startRate: intFlag(args, "start-rate", 1),
    good,
    probe: (rate) =>
      label === "ceiling"
        ? scenario.ceilingRun(load(rate, probeSeconds))
        : scenario.systemRun(load(rate, probeSeconds)),
  });

const ceilingRate = await search("ceiling");
const systemRate = await search("system");
log(
  `highest rate with p99 < ${P99_BOUND_MS} ms in ${probeSeconds} s probes: ceiling ${num(ceilingRate)}/s, system ${num(systemRate)}/s`,
);
const finals: Pair[] = [];
for (let i = 0; i < args.pairs && systemRate > 0 && ceilingRate > 0; i++) {
  const c = i % 2 === 0 ? await scenario.ceilingRun(load(ceilingRate, duration)) : undefined;
  const s = await scenario.systemRun(load(systemRate, duration));
  const ceiling = c ?? (await scenario.ceilingRun(load(ceilingRate, duration)));
  finals.push({ ceiling, system: s });
  log(
    `pair ${i + 1}: ceiling ${num(ceiling.rps)}/s p99 ${ms(ceiling.p99)} | system ${num(s.rps)}/s p99 ${ms(s.p99)} ${s.ok ? "PASS" : "FAIL"}`,
  );
}
const held = finals.every((f) => good(f.system));
const ratio = systemRate / ceilingRate;
log(
  `sustained ${duration} s: system ${num(systemRate)}/s (${pct(ratio)} of the ceiling's ${num(ceilingRate)}/s), ` +
    `p99 over the ${duration} s runs: ${finals.map((f) => ms(f.system.p99)).join(", ")} (median ${ms(median(finals.map((f) => f.system.p99)))}); ` +
    `held under ${P99_BOUND_MS} ms: ${held ? "yes" : "NO"}`,
);
scenario.finish({ ceilingRate, systemRate, ratio, held, finals });
process.exit(finals.every((f) => f.system.ok) ? 0 : 1);
