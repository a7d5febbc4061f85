// overload: what stampede does at 3x the rate it can sustain. Every request must be answered
// (202/409/410, or a quick 503 with Retry-After while it sheds load, retried by the client as
// a real one would) and the invariants must hold; nothing may time out or be reset.
//
// Depends on `stampede bench` (branch `bench`): it runs `node bin/stampede.js bench --rate N
// --json ...` and reads its report (answers.byStatus, latency.admission, pass, invariants).
//
// Usage: node bench/overload.ts --sustainable 4000 [--factor 3] [--seconds 20] [--out overload.json]
//        node bench/overload.ts --probe [--start-rate 1000]   (finds the sustainable rate first:
//        the highest rate whose 5 s run passes with admission p99 < 50 ms and no 503, doubling then
//        bisecting, the same criterion as bench/sustained)
// It starts its own `stampede start` on a free port with a fresh DATA_DIR (FSYNC=always, the
// real promise; overload settings from the environment, e.g. OVERLOAD_MAX_EVENT_LOOP_DELAY_MS),
// stops it at the end and stops by itself after --deadline-minutes (30).
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const BIN = fileURLToPath(new URL("../../bin/stampede.js", import.meta.url));
const ADMIN_TOKEN = "overload-bench-admin-token-0123456789";
const P99_BOUND_MS = 50;

const { values } = parseArgs({
  options: {
    sustainable: { type: "string" },
    probe: { type: "boolean", default: false },
    "start-rate": { type: "string", default: "1000" },
    "probe-seconds": { type: "string", default: "5" },
    factor: { type: "string", default: "3" },
    seconds: { type: "string", default: "20" },
    concurrency: { type: "string", default: "5000" },
    out: { type: "string" },
    "deadline-minutes": { type: "string", default: "30" },
  },
});
if (!values.probe && values.sustainable === undefined) {
  console.error("overload: give --sustainable <requests/s> or --probe");
  process.exit(2);
}

interface Summary {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}
interface BenchReport {
  answers: { byStatus: Record<string, number>; connectionErrors: Record<string, number>; retried: number };
  firing: { requestsPerSecond: number; durationMs: number };
  latency: { admission: Summary; byStatus: Record<string, Summary> };
  invariants: { name?: string; id?: string; ok?: boolean; pass?: boolean; message?: string }[];
  pass: boolean;
}

const children = new Set<ChildProcess>();
const dirs: string[] = [];
const cleanUp = () => {
  for (const child of children) child.kill("SIGKILL");
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
};
const deadline = setTimeout(() => {
  console.error("overload: deadline passed; stopping");
  cleanUp();
  process.exit(1);
}, Number(values["deadline-minutes"]) * 60_000);
deadline.unref();
process.on("SIGINT", () => {
  cleanUp();
  process.exit(130);
});

/** Starts `stampede start` on a free port with a fresh data directory; resolves with its URL. */
async function startServer(): Promise<{ url: string; stop: () => Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), "stampede-overload-"));
  dirs.push(dataDir);
  const child = spawn(process.execPath, [BIN, "start"], {
    env: { ...process.env, PORT: "0", DATA_DIR: dataDir, ADMIN_TOKEN, LOG_LEVEL: "warn" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.add(child);
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout!.setEncoding("utf8").on("data", (d: string) => {
      out += d;
      const match = /listening on (http:\/\/\S+)/.exec(out);
      if (match) resolve(match[1]!);
    });
    child.once("exit", (code) => reject(new Error(`stampede start exited with ${code}:\n${out}`)));
  });
  return {
    url,
    stop: async () => {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
      children.delete(child);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** One `stampede bench` run at a fixed rate against a fresh server; stock = requests (all admitted). */
async function benchAt(rate: number, seconds: number): Promise<BenchReport> {
  const server = await startServer();
  try {
    const users = Math.max(1, Math.round(rate * seconds));
    const args = [
      BIN,
      "bench",
      "--target",
      server.url,
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
      "--json",
      "--no-progress",
    ];
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
    children.add(child);
    let json = "";
    child.stdout!.setEncoding("utf8").on("data", (d: string) => (json += d));
    await new Promise((r) => child.once("exit", r));
    children.delete(child);
    return JSON.parse(json) as BenchReport;
  } finally {
    await server.stop();
  }
}

const count = (byStatus: Record<string, number>, status: string) => byStatus[status] ?? 0;
const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
const sustainedOk = (r: BenchReport) =>
  r.pass &&
  sum(r.answers.connectionErrors) === 0 &&
  count(r.answers.byStatus, "503") === 0 &&
  r.latency.admission.p99 < P99_BOUND_MS;

async function probe(): Promise<number> {
  const seconds = Number(values["probe-seconds"]);
  let lo = 0;
  let hi = 0;
  for (let rate = Number(values["start-rate"]); hi === 0 && rate <= 1_000_000; rate *= 2) {
    const r = await benchAt(rate, seconds);
    console.error(
      `probe ${rate}/s: p99 ${r.latency.admission.p99.toFixed(1)} ms ${sustainedOk(r) ? "ok" : "too much"}`,
    );
    if (sustainedOk(r)) lo = rate;
    else hi = rate;
  }
  for (let i = 0; i < 3 && hi > 0 && hi - lo > lo * 0.05; i++) {
    const rate = Math.round((lo + hi) / 2);
    const r = await benchAt(rate, seconds);
    console.error(
      `probe ${rate}/s: p99 ${r.latency.admission.p99.toFixed(1)} ms ${sustainedOk(r) ? "ok" : "too much"}`,
    );
    if (sustainedOk(r)) lo = rate;
    else hi = rate;
  }
  return lo;
}

const sustainable = values.probe ? await probe() : Number(values.sustainable);
if (!(sustainable > 0)) {
  console.error("overload: no sustainable rate found");
  cleanUp();
  process.exit(1);
}
const rate = Math.round(sustainable * Number(values.factor));
console.error(`overload: sustainable ${sustainable}/s; firing ${rate}/s for ${values.seconds} s`);
const report = await benchAt(rate, Number(values.seconds));
const { byStatus, connectionErrors, retried } = report.answers;
const answered = sum(byStatus);
const result = {
  sustainable,
  factor: Number(values.factor),
  rate,
  achievedRate: Math.round(report.firing.requestsPerSecond),
  answers: byStatus,
  connectionErrors,
  retried,
  shed503: count(byStatus, "503"),
  admission: report.latency.admission,
  latency503: report.latency.byStatus["503"],
  everyRequestAnswered: sum(connectionErrors) === 0,
  invariantsHeld: report.pass,
  invariants: report.invariants,
};
console.log(JSON.stringify(result, null, 2));
console.error(
  `overload at ${result.factor}x (${rate}/s): ${answered} answers ${JSON.stringify(byStatus)}, ` +
    `${result.shed503} shed with 503, ${retried} retried after Retry-After, connection errors ${sum(connectionErrors)}, ` +
    `admission p50/p99/max ${[report.latency.admission.p50, report.latency.admission.p99, report.latency.admission.max].map((v) => v.toFixed(0)).join("/")} ms, ` +
    `invariants ${report.pass ? "held" : "FAILED"}`,
);
if (values.out) writeFileSync(values.out, `${JSON.stringify({ result, report }, null, 2)}\n`);
cleanUp();
process.exit(result.everyRequestAnswered && result.invariantsHeld ? 0 : 1);
