/**
 * One scenario = the same load fired by `stampede bench` at the ceiling and
 * at the system, each against freshly started processes, in interleaved
 * pairs (ceiling first in odd pairs, system first in even ones, so drift on
 * a shared machine favours neither). Every run's raw report is saved to the
 * output folder, its figures kept (figures.ts), and finish() writes the
 * summary beside them. The scenario stops itself at its deadline.
 */

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pct } from "../engine/format.ts";
import type { BenchReport } from "../engine/report/report.ts";
import type { ScenarioArgs } from "./args.ts";
import { CpuSampler, type CpuShare } from "./cpu.ts";
import {
  figuresOf,
  line,
  log,
  type Pair,
  type PairSummary,
  type RunFigures,
  summarizePairs,
} from "./figures.ts";
import { backlogLimits, diffCounters, listenCounters, machine } from "./kernel.ts";
import { ADMIN_TOKEN, type System, type SystemOptions, startCeiling, startSystem } from "./modes.ts";
import { runBench } from "./processes.ts";
import { formatHotSpots, profilesIn, summarizeProfile } from "./profile.ts";
import { RedisCommandSampler, type RedisCommandShare } from "./redis-commands.ts";
import { DATABASE_URL } from "./services.ts";

export interface ScenarioSpec {
  name: string;
  /** `stampede bench` flags of the load (targets and the admin token are added). */
  benchArgs: string[];
  systemOptions?: SystemOptions;
  /** Bench timeout per run. */
  runTimeoutMs: number;
  /** Distributed modes: also check the PostgreSQL ledger's rows (`stampede bench --database-url`). */
  checkLedger?: boolean;
  /** Called while the system is up, before its bench run (e.g. INFO memory before). */
  beforeSystemRun?: (system: System) => Promise<void>;
  /** Called while the system is up, after its bench run (e.g. Redis memory figures). */
  afterSystemRun?: (system: System, report: BenchReport | undefined) => Promise<Record<string, unknown>>;
}

const mib = (bytes: number | undefined) => (bytes === undefined ? undefined : Math.round(bytes / 1048576));

export class Scenario {
  readonly spec: ScenarioSpec;
  readonly args: ScenarioArgs;
  readonly outDir: string;
  readonly stamp = new Date().toISOString().replace(/[:.]/g, "-");
  readonly runs: RunFigures[] = [];
  #runIndex = 0;

  constructor(spec: ScenarioSpec, args: ScenarioArgs) {
    this.spec = spec;
    this.args = args;
    this.outDir = args.outDir;
    mkdirSync(this.outDir, { recursive: true });
    // Bounded in time whatever happens: processes are killed by the exit handler (processes.ts).
    setTimeout(() => {
      process.stderr.write(`\n${spec.name}: deadline of ${args.deadlineMinutes} min passed; stopping\n`);
      process.exit(3);
    }, args.deadlineMinutes * 60_000).unref();
  }

  get profileDir(): string | undefined {
    return this.args.profile
      ? join(this.outDir, "profiles", `${this.spec.name}-${this.args.mode}-${this.stamp}`)
      : undefined;
  }

  /** Fires the load once at a fresh ceiling server. */
  async ceilingRun(benchArgs = this.spec.benchArgs): Promise<RunFigures> {
    const server = await startCeiling();
    const before = listenCounters();
    const known = new Map([[server.pid, "ceiling"]]);
    const sampler = new CpuSampler(() => known);
    try {
      const result = await runBench(["--ceiling", "--target", server.url!, ...benchArgs], {
        timeoutMs: this.spec.runTimeoutMs,
        onSpawn: (pid) => known.set(pid, "generator"),
      });
      sampler.stop();
      const f = figuresOf("ceiling", result.code, result.report, result.stderr);
      f.cpu = firingCpu(sampler, result.report);
      f.listen = diffCounters(before, listenCounters());
      f.peakRssMiB = { ceiling: mib(server.peakRss()) ?? 0 };
      this.#save("ceiling", result.report);
      return this.#record(f);
    } finally {
      await server.stop();
    }
  }

  /** Fires the load once at a freshly started system. */
  async systemRun(
    benchArgs = this.spec.benchArgs,
    systemOptions = this.spec.systemOptions,
  ): Promise<RunFigures> {
    return (await this.systemReport(benchArgs, systemOptions)).figures;
  }

  /** systemRun, with the whole report of `stampede bench` for scenarios that read more than the figures. */
  async systemReport(
    benchArgs = this.spec.benchArgs,
    systemOptions = this.spec.systemOptions,
  ): Promise<{ figures: RunFigures; report: BenchReport | undefined }> {
    const system = await startSystem(this.args.mode, { ...systemOptions, profileDir: this.profileDir });
    try {
      await this.spec.beforeSystemRun?.(system);
      const before = listenCounters();
      const targets = system.targets.flatMap((t) => ["--target", t]);
      const ledger =
        this.spec.checkLedger && system.databaseSchema
          ? ["--database-url", DATABASE_URL, "--database-schema", system.databaseSchema]
          : [];
      const known = new Map(system.processes.map((p) => [p.pid, cpuRole(p.name)]));
      const sampler = new CpuSampler(() => known);
      const commands = system.mode === "embedded" ? undefined : new RedisCommandSampler(system.processes);
      const result = await runBench([...targets, "--admin-token", ADMIN_TOKEN, ...ledger, ...benchArgs], {
        timeoutMs: this.spec.runTimeoutMs,
        onSpawn: (pid) => known.set(pid, "generator"),
      });
      sampler.stop();
      await commands?.stop();
      const f = figuresOf("system", result.code, result.report, result.stderr);
      f.cpu = firingCpu(sampler, result.report);
      if (commands) f.redisCommands = firingCommands(commands, result.report);
      f.listen = diffCounters(before, listenCounters());
      f.peakRssMiB = Object.fromEntries(system.processes.map((p) => [p.name, mib(p.peakRss()) ?? 0]));
      if (this.spec.afterSystemRun) f.extra = await this.spec.afterSystemRun(system, result.report);
      this.#save("system", result.report);
      return { figures: this.#record(f), report: result.report };
    } finally {
      await system.stop();
    }
  }

  /** The interleaved pairs; returns the medians. */
  async pairs(): Promise<PairSummary> {
    const pairs: Pair[] = [];
    for (let i = 0; i < this.args.pairs; i++) {
      let ceiling: RunFigures;
      let system: RunFigures;
      if (i % 2 === 0) {
        ceiling = await this.ceilingRun();
        system = await this.systemRun();
      } else {
        system = await this.systemRun();
        ceiling = await this.ceilingRun();
      }
      pairs.push({ ceiling, system });
      log(
        `pair ${i + 1}/${this.args.pairs}: ${line(ceiling)}  |  ${line(system)}  | ratio ${pct(system.rps / ceiling.rps)}`,
      );
    }
    return summarizePairs(pairs);
  }

  /** Writes the summary JSON and prints the machine, the kernel limits and the profile's hot spots. */
  finish(summary: Record<string, unknown>): string {
    const info = {
      scenario: this.spec.name,
      mode: this.args.mode,
      machine: machine(),
      backlog: backlogLimits(),
    };
    const file = join(this.outDir, `${this.spec.name}-${this.args.mode}-${this.stamp}.json`);
    writeFileSync(file, `${JSON.stringify({ ...info, ...summary, runs: this.runs }, null, 2)}\n`);
    log(
      `machine: ${info.machine.cores} × ${info.machine.cpus}, ${info.machine.memoryGiB} GiB, Linux ${info.machine.kernel}, load ${info.machine.load}`,
    );
    log(
      `kernel: somaxconn ${info.backlog.somaxconn} (caps LISTEN_BACKLOG), tcp_max_syn_backlog ${info.backlog.maxSynBacklog}, ` +
        `netdev_max_backlog ${info.backlog.netdevMaxBacklog} (loopback packets beyond it are dropped, then retransmitted); ` +
        "TCP counters are machine-wide",
    );
    const dir = this.profileDir;
    if (dir)
      for (const profile of profilesIn(dir)) {
        const hot = summarizeProfile(profile);
        log(`\nprofile ${profile} (${hot.totalMs.toFixed(0)} ms on CPU)`);
        log(formatHotSpots("by place:", hot.byPlace.slice(0, 15)));
        log(formatHotSpots("by function:", hot.byFunction.slice(0, 25)));
      }
    log(`summary: ${file}`);
    return file;
  }

  #record(f: RunFigures): RunFigures {
    this.runs.push(f);
    return f;
  }

  #save(kind: string, report: BenchReport | undefined): void {
    if (!report) return;
    const file = join(
      this.outDir,
      `${this.spec.name}-${this.args.mode}-${this.stamp}-${++this.#runIndex}-${kind}.json`,
    );
    writeFileSync(file, JSON.stringify(report));
  }
}

/** "stampede api #2" -> "api"; the embedded "stampede start" -> "stampede". */
const cpuRole = (name: string) =>
  name === "stampede start" ? "stampede" : name.replace(/^stampede (\S+).*$/, "$1");

/** The Redis commands of the report's firing phase, per admitted claim and per request, by process. */
function firingCommands(
  sampler: RedisCommandSampler,
  report: BenchReport | undefined,
): RedisCommandShare | undefined {
  if (!report) return undefined;
  const from = Date.parse(report.startedAt);
  const requests = Object.values(report.answers.byStatus).reduce((a, b) => a + b, 0);
  return sampler.window(from, from + report.firing.durationMs, requests, report.answers.byStatus["202"] ?? 0);
}

/** The CPU of the report's firing phase, per request it sent. */
function firingCpu(sampler: CpuSampler, report: BenchReport | undefined): CpuShare | undefined {
  if (!report) return undefined;
  const from = Date.parse(report.startedAt);
  const requests =
    Object.values(report.answers.byStatus).reduce((a, b) => a + b, 0) +
    Object.values(report.answers.connectionErrors).reduce((a, b) => a + b, 0);
  return sampler.window(from, from + report.firing.durationMs, requests);
}
