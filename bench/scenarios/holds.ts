// holds: a spike with confirms, releases and expiries (docs/api.md "Holds"). --users claim a campaign
// of --stock units with holdSeconds --hold-seconds, at --concurrency; of the holders, --confirm-percent
// confirm and --release-percent release (in one burst, right after the spike, at the same concurrency),
// the rest let their hold expire. A second wave (users refused in the first) claims the units that come
// back: the released ones at once, the expired ones as they fall due; it confirms what it gets.
// Reports the spike's claims/s and admission p50/p99; confirm and release latency p50/p99 and rate; the
// expiry lag (from a hold's expiresAt to the second-wave admission that took its unit, both by the
// server's clock; units are matched first back, first taken); the second wave's admissions; CPU µs per
// request per process of the spike and of the burst.
// Invariants (any failure fails the run): every read of GET /v1/campaigns/:id (every 20 ms) has
// issued + pending + held <= stock and remaining = stock - issued - pending - held; no user admitted
// twice; no unit taken before it came back; every confirm answered 200 reads issued in
// GET /v1/claims/:id, every release released, every hold let go expired; the second wave admits exactly
// the released + expired units (when it has enough users); at the end issued = the confirms answered
// 200 and pending = held = 0. Distributed modes: the ledger's rows too (one per user, units distinct).
// The servers run with HOLD_MIN_SECONDS=1 so that holds can be short (as the tests do). No ceiling,
// no target: --pairs is the number of runs.
// Usage: bench/run.sh holds [--mode embedded|redis|kafka] [--users 20000] [--stock 2000] [--hold-seconds 10]
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { ms, num } from "../engine/format.ts";
import { minUserIdLength, userId } from "../engine/generator/plan.ts";
import { summarize } from "../engine/stats.ts";
import { intFlag, parseScenarioArgs } from "../harness/args.ts";
import { CpuSampler, type CpuShare, formatCpu } from "../harness/cpu.ts";
import { log } from "../harness/figures.ts";
import {
  byStatus,
  type ClaimAnswer,
  claimPostRequest,
  claimReadRequest,
  counterFaults,
  counterSampler,
  type Fired,
  fire,
  holdRequest,
  matchRetaken,
  readCounters,
  type UnitBack,
} from "../harness/holds.ts";
import { ADMIN_TOKEN, type System, startSystem } from "../harness/modes.ts";
import { Scenario } from "../harness/scenario.ts";
import { DATABASE_URL } from "../harness/services.ts";

const args = parseScenarioArgs(
  import.meta.url,
  { deadlineMinutes: 5, pairs: 1 },
  {
    stock: { type: "string", doc: "units of the campaign", default: "2000" },
    "hold-seconds": {
      type: "string",
      doc: "the campaign's holdSeconds (the servers get HOLD_MIN_SECONDS=1)",
      default: "10",
    },
    "confirm-percent": {
      type: "string",
      doc: "share of the first wave's holders who confirm",
      default: "50",
    },
    "release-percent": {
      type: "string",
      doc: "share of the first wave's holders who release",
      default: "20",
    },
  },
);
const users = args.users ?? 20_000;
const stock = intFlag(args, "stock", 1);
const holdSeconds = intFlag(args, "hold-seconds", 1);
const concurrency = Number(args.concurrency ?? 200);
const confirmPercent = intFlag(args, "confirm-percent", 0);
const releasePercent = intFlag(args, "release-percent", 0);
if (!Number.isInteger(concurrency) || concurrency < 1 || confirmPercent + releasePercent > 100) {
  process.stderr.write("holds: --concurrency >= 1 and --confirm-percent + --release-percent <= 100\n");
  process.exit(2);
}
const scenario = new Scenario({ name: "holds", benchArgs: [], runTimeoutMs: 0 }, args);

type Fate = "confirm" | "release" | "expire";
type Final = "issued" | "released" | "expired";

/** "stampede" for the embedded process, "api" / "worker" for the distributed ones (as scenario.ts names them). */
const cpuRole = (name: string) =>
  name === "stampede start" ? "stampede" : name.replace(/^stampede (\S+).*$/, "$1");
/** The roles of this mode only (cpu.ts also counts every redis-server, postgres and java on the machine). */
const OTHERS: Record<string, string[]> = {
  embedded: ["redis", "postgres", "kafka"],
  redis: ["kafka"],
  kafka: [],
};
function ownCpu(share: CpuShare | undefined): CpuShare | undefined {
  if (!share) return undefined;
  const usPerRequest = Object.fromEntries(
    Object.entries(share.usPerRequest).filter(
      ([role]) => role !== "total" && !OTHERS[args.mode]!.includes(role),
    ),
  );
  usPerRequest.total = Object.values(usPerRequest).reduce((a, b) => a + b, 0);
  return { ...share, usPerRequest };
}
const rate = (count: number, f: Fired) => (count / Math.max(1, f.endedAt - f.startedAt)) * 1000;
const latency = (answers: ClaimAnswer[]) => summarize(answers.map((a) => a.latencyMs));
const p50p99 = (answers: ClaimAnswer[]) => {
  const s = latency(answers);
  return `p50 ${ms(s.p50)} p99 ${ms(s.p99)}`;
};

interface RunResult {
  ok: boolean;
  failures: string[];
  figures: Record<string, unknown>;
}

async function oneRun(run: number): Promise<RunResult> {
  const system = await startSystem(args.mode, {
    env: { HOLD_MIN_SECONDS: "1" },
    profileDir: scenario.profileDir,
  });
  try {
    return await holdsRun(system, run);
  } finally {
    await system.stop();
  }
}

async function holdsRun(system: System, run: number): Promise<RunResult> {
  const failures: string[] = [];
  const fail = (message: string) => {
    failures.push(message);
    log(`  !! ${message}`);
  };
  const targets = system.targets;
  const campaignId = `holds-${randomBytes(4).toString("hex")}`;
  const created = await fetch(`${targets[0]}/v1/campaigns`, {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ id: campaignId, name: "holds bench", stock, perUserLimit: 1, holdSeconds }),
  });
  if (created.status !== 201)
    throw new Error(`creating the campaign: ${created.status} ${await created.text()}`);
  const known = new Map(system.processes.map((p) => [p.pid, cpuRole(p.name)]));
  known.set(process.pid, "generator");
  const cpu = new CpuSampler(() => known);
  const counters = counterSampler(targets, campaignId, stock);
  const idLength = minUserIdLength(users);
  const ids = Array.from({ length: users }, (_, i) => userId(i, idLength));
  const claim = (u: string, host: string) => claimPostRequest(host, campaignId, u);
  log(`run ${run} (${args.mode}, campaign ${campaignId}):`);

  // 1. The spike.
  const spike = await fire(targets, ids, concurrency, claim);
  const holders = spike.answers.filter((a) => a.status === 202);
  const spikeCpu = ownCpu(cpu.window(spike.startedAt, spike.endedAt, users));
  const spikeLatency = latency(spike.answers);
  const spikeRate = rate(users, spike);
  log(
    `  spike: ${num(users)} claims in ${ms(spike.endedAt - spike.startedAt)} = ${num(spikeRate)} claims/s; ` +
      `admission p50 ${ms(spikeLatency.p50)} p99 ${ms(spikeLatency.p99)}; answers ${JSON.stringify(byStatus(spike.answers))}` +
      formatCpu(spikeCpu),
  );
  if (holders.length !== Math.min(stock, users))
    fail(`the spike held ${holders.length} units, not ${Math.min(stock, users)}`);
  for (const h of holders)
    if (!h.claimId || h.expiresAt === undefined || h.admittedAt === undefined) {
      fail(`a 202 without claimId, admittedAt or expiresAt: ${JSON.stringify(h)}`);
      break;
    }

  // 2. Each holder's fate, spread evenly (slot = i * 7919 mod 100 visits every slot once per 100).
  const fates = holders.map((_, i): Fate => {
    const slot = (i * 7919) % 100;
    return slot < confirmPercent ? "confirm" : slot < confirmPercent + releasePercent ? "release" : "expire";
  });
  const acting = holders.flatMap((h, i) => (fates[i] === "expire" ? [] : [{ h, fate: fates[i]! }]));
  const burst = await fire(targets, acting, concurrency, (a, host) =>
    holdRequest(host, a.h.claimId!, a.fate === "confirm" ? "confirm" : "release"),
  );
  const burstCpu = ownCpu(cpu.window(burst.startedAt, burst.endedAt, acting.length));
  const expected = new Map<string, Final>();
  /** Units back in the stock: when (server clock) and why. */
  const returns: UnitBack[] = [];
  for (let i = 0; i < holders.length; i++)
    if (fates[i] === "expire") {
      expected.set(holders[i]!.claimId!, "expired");
      returns.push({ at: holders[i]!.expiresAt!, why: "expired" });
    }
  const confirms: ClaimAnswer[] = [];
  const releases: ClaimAnswer[] = [];
  for (const [i, { h, fate }] of acting.entries()) {
    const a = burst.answers[i]!;
    (fate === "confirm" ? confirms : releases).push(a);
    if (a.status === 200 && a.claimStatus === (fate === "confirm" ? "issued" : "released")) {
      expected.set(h.claimId!, fate === "confirm" ? "issued" : "released");
      if (fate === "release") returns.push({ at: a.endedAt ?? a.doneAt, why: "released" });
    } else if (a.status === 410) {
      // Too late: the hold had expired (a slow machine); its unit came back at expiresAt.
      expected.set(h.claimId!, "expired");
      returns.push({ at: h.expiresAt!, why: "expired" });
    } else fail(`${fate} of ${h.claimId}: ${a.error ?? a.status} ${a.claimStatus ?? ""}`);
  }
  const count = (f: Final) => [...expected.values()].filter((v) => v === f).length;
  const confirmed1 = count("issued");
  const released = count("released");
  const expired = count("expired");
  const burstRate = rate(acting.length, burst);
  log(
    `  confirm/release burst: ${num(acting.length)} at concurrency ${concurrency} in ${ms(burst.endedAt - burst.startedAt)} ` +
      `= ${num(burstRate)}/s; confirms ${num(confirms.length)} (${num(rate(confirms.length, burst))}/s) ${p50p99(confirms)}; ` +
      `releases ${num(releases.length)} (${num(rate(releases.length, burst))}/s) ${p50p99(releases)}; ` +
      `answers ${JSON.stringify(byStatus(burst.answers))}${formatCpu(burstCpu)}`,
  );

  // 3. The second wave: users refused in the first; the released units at once, then the expired as
  // they fall due (admission expires due holds before it answers 410).
  const refused = ids.filter((_, i) => spike.answers[i]!.status === 410);
  const expectBack = stock - Math.min(stock, holders.length) + released + expired;
  const wave2: ClaimAnswer[] = [];
  let next = 0;
  const take = async (n: number, lanes: number) => {
    const chunk = refused.slice(next, next + n);
    next += chunk.length;
    const f = await fire(targets, chunk, lanes, claim);
    wave2.push(...f.answers);
    return f;
  };
  const admitted2 = () => wave2.filter((a) => a.status === 202).length;
  const wave2Started = Date.now();
  await take(Math.max(2 * released, concurrency), concurrency);
  const dues = returns
    .filter((r) => r.why === "expired")
    .map((r) => r.at)
    .sort((a, b) => a - b);
  const lastDue = dues.at(-1) ?? Date.now();
  const lanes = Math.min(concurrency, 32);
  while (admitted2() < expectBack && next < refused.length && Date.now() < lastDue + 3000) {
    // Idle until the next unit is due back (the one after those taken), then claim in small chunks.
    const nextDue = dues[Math.max(0, admitted2() - released)] ?? lastDue;
    if (nextDue - Date.now() > 30) await sleep(nextDue - Date.now() - 20);
    await take(lanes * 4, lanes);
  }
  const wave2Ended = Date.now();
  const wave2Holders = wave2.filter((a) => a.status === 202);
  const enoughUsers = next < refused.length || wave2Holders.length >= expectBack;
  log(
    `  wave 2: ${num(wave2.length)} users claimed over ${ms(wave2Ended - wave2Started)}, ${num(wave2Holders.length)} admitted ` +
      `(${num(released)} released + ${num(expired)} expired came back); answers ${JSON.stringify(byStatus(wave2))}`,
  );
  if (enoughUsers && wave2Holders.length !== expectBack)
    fail(`wave 2 admitted ${wave2Holders.length}, not the ${expectBack} units that came back`);
  if (!enoughUsers) log(`  (wave 2 ran out of users: ${refused.length} refused in the first wave)`);

  // Expiry lag: the k-th unit back is the k-th taken (server clock); never taken before it was back.
  const unheld = stock - Math.min(stock, holders.length);
  const { expiryLags, releaseLags, early } = matchRetaken(
    [...Array.from({ length: unheld }, (): UnitBack => ({ at: 0, why: "unheld" })), ...returns],
    wave2Holders.map((a) => a.admittedAt ?? Number.NaN),
  );
  if (early) fail(`${early} wave-2 admissions came before as many units were back`);
  const expiryLag = summarize(expiryLags);
  const releaseLag = summarize(releaseLags);
  log(
    `  expiry lag (expiresAt -> the unit admitted again): p50 ${ms(expiryLag.p50)} p99 ${ms(expiryLag.p99)} ` +
      `max ${ms(expiryLag.max)} over ${num(expiryLags.length)}; released -> admitted again (the second wave starts once the burst is answered): ` +
      `p50 ${ms(releaseLag.p50)} max ${ms(releaseLag.max)}`,
  );

  // 4. Wave 2 confirms what it got.
  const burst2 = await fire(targets, wave2Holders, concurrency, (a, host) =>
    holdRequest(host, a.claimId!, "confirm"),
  );
  for (const [i, a] of burst2.answers.entries()) {
    const claimId = wave2Holders[i]!.claimId!;
    if (a.status === 200 && a.claimStatus === "issued") expected.set(claimId, "issued");
    else if (a.status === 410) expected.set(claimId, "expired");
    else fail(`confirm of ${claimId} (wave 2): ${a.error ?? a.status} ${a.claimStatus ?? ""}`);
  }
  log(
    `  wave 2 confirms: ${num(burst2.answers.length)}, ${p50p99(burst2.answers)}, ` +
      `${num(rate(burst2.answers.length, burst2))}/s; answers ${JSON.stringify(byStatus(burst2.answers))}`,
  );
  cpu.stop();

  // 5. Quiet: the counters settle at issued = the confirms answered 200, nothing pending or held.
  const issued = count("issued");
  const quietBy = Date.now() + 20_000;
  let last = await readCounters(targets[0]!, campaignId);
  while (!(last && last.issued === issued && last.pending === 0 && last.held === 0) && Date.now() < quietBy) {
    await sleep(100);
    last = await readCounters(targets[0]!, campaignId);
  }
  const { reads, faults } = await counters.stop();
  if (!last || last.issued !== issued || last.pending !== 0 || last.held !== 0)
    fail(`the counters did not settle at issued ${issued}, pending 0, held 0: ${JSON.stringify(last)}`);
  if (last) for (const f of counterFaults(last, stock)) fail(`final counters: ${f}`);
  for (const f of faults) fail(`counters read ${f}`);
  log(
    `  counters: ${num(reads.length)} reads during the run, ${faults.length ? "FAULTS" : "each adds up, issued + pending + held <= stock"}; ` +
      `final issued ${last?.issued} pending ${last?.pending} held ${last?.held} remaining ${last?.remaining}`,
  );

  // 6. No user twice, no claim twice.
  const admittedUsers = [...holders, ...wave2Holders].map((a) => a.userId);
  if (new Set(admittedUsers).size !== admittedUsers.length) fail("a user was admitted twice");
  const admittedClaims = [...holders, ...wave2Holders].map((a) => a.claimId);
  if (new Set(admittedClaims).size !== admittedClaims.length)
    fail("two admissions answered the same claimId");

  // 7. Every claim reads as decided (the distributed ledger may take a moment).
  let pendingReads = [...expected.keys()];
  const readsBy = Date.now() + 15_000;
  const wrong = new Map<string, string>();
  while (pendingReads.length) {
    const got = await fire(targets, pendingReads, Math.min(concurrency, 64), (id, host) =>
      claimReadRequest(host, id),
    );
    wrong.clear();
    pendingReads = pendingReads.filter((id, i) => {
      const a = got.answers[i]!;
      const ok = a.status === 200 && a.claimStatus === expected.get(id);
      if (!ok) wrong.set(id, `${a.error ?? a.status} ${a.claimStatus ?? ""}`);
      return !ok;
    });
    if (!pendingReads.length || Date.now() > readsBy) break;
    await sleep(200);
  }
  if (wrong.size) {
    const [id, what] = [...wrong][0]!;
    fail(`${wrong.size} claims do not read as answered, e.g. ${id}: ${what}, expected ${expected.get(id)}`);
  }
  log(
    `  claims read back: ${num(expected.size)} (${num(issued)} issued, ${num(released)} released, ` +
      `${num(count("expired"))} expired)${wrong.size ? ` !! ${wrong.size} wrong` : ", each as answered"}`,
  );

  // 8. Distributed modes: the ledger's rows.
  if (system.databaseSchema) {
    const client = new pg.Client({ connectionString: DATABASE_URL });
    await client.connect();
    try {
      const { rows } = await client.query(
        `SELECT count(*)::int AS rows, count(DISTINCT user_id)::int AS users,
                count(*) FILTER (WHERE status = 'issued')::int AS issued,
                count(DISTINCT unit) FILTER (WHERE status = 'issued')::int AS issued_units
           FROM "${system.databaseSchema}".claims WHERE campaign_id = $1`,
        [campaignId],
      );
      const r = rows[0] as { rows: number; users: number; issued: number; issued_units: number };
      log(
        `  ledger: ${num(r.rows)} rows, ${num(r.users)} users, ${num(r.issued)} issued on ${num(r.issued_units)} units`,
      );
      if (r.users !== r.rows) fail(`ledger: ${r.rows} rows for ${r.users} users`);
      if (r.issued !== issued || r.issued_units !== issued)
        fail(`ledger: ${r.issued} issued on ${r.issued_units} units, ${issued} confirms answered 200`);
    } finally {
      await client.end();
    }
  }

  log(`  invariants: ${failures.length ? "FAILED" : "PASS"}`);
  return {
    ok: failures.length === 0,
    failures,
    figures: {
      campaignId,
      spike: {
        claimsPerSecond: spikeRate,
        latency: spikeLatency,
        byStatus: byStatus(spike.answers),
        cpu: spikeCpu,
      },
      confirms: { ...latency(confirms), perSecond: rate(confirms.length, burst) },
      releases: { ...latency(releases), perSecond: rate(releases.length, burst) },
      burst: { requests: acting.length, perSecond: burstRate, cpu: burstCpu },
      expiryLag,
      releaseLag,
      wave2: {
        users: wave2.length,
        admitted: wave2Holders.length,
        expectedBack: expectBack,
        byStatus: byStatus(wave2),
        confirms: { ...latency(burst2.answers), perSecond: rate(burst2.answers.length, burst2) },
      },
      first: { held: holders.length, confirmed: confirmed1, released, expired },
      counterReads: reads.length,
      final: last,
    },
  };
}

log(
  `holds (${args.mode}): ${num(users)} users, stock ${num(stock)}, holds of ${holdSeconds} s, concurrency ${concurrency}; ` +
    `${confirmPercent}% confirm, ${releasePercent}% release, ${100 - confirmPercent - releasePercent}% let expire`,
);
const results: RunResult[] = [];
for (let run = 1; run <= args.pairs; run++) {
  try {
    results.push(await oneRun(run));
  } catch (error) {
    log(`  !! run ${run} failed: ${(error as Error).stack ?? error}`);
    results.push({ ok: false, failures: [String(error)], figures: {} });
  }
}
const ok = results.every((r) => r.ok);
log(`invariants: ${ok ? "PASS in every run" : "FAILED"}`);
scenario.finish({
  users,
  stock,
  holdSeconds,
  concurrency,
  confirmPercent,
  releasePercent,
  results,
  targetMet: ok,
});
process.exit(ok ? 0 : 1);
