/**
 * Where the machine's CPU went during a run's firing phase, per process role
 * (generator, api, worker, Redis, PostgreSQL, the Kafka broker, ...), read
 * from /proc/<pid>/stat (all threads of a process: the embedded ledger thread
 * counts with its process). On two cores shared by the load generator and
 * every part of the system, this is what explains a throughput: when the
 * machine is busy, requests/s ~= cores / (CPU per request, summed).
 *
 * Sampled every 200 ms from before the run; the firing window is cut out
 * afterwards from the report's start time and duration (the verification
 * reads that follow are not part of it).
 */

import { readdirSync, readFileSync } from "node:fs";

const TICK_US = 10_000; // USER_HZ is 100 on Linux (getconf CLK_TCK)

interface Sample {
  at: number;
  /** CPU ticks per pid, with the role it belongs to. */
  perPid: Map<number, { role: string; ticks: number }>;
  /** Machine-wide busy and total ticks (/proc/stat, all cores). */
  busy: number;
  total: number;
}

export interface CpuShare {
  /** CPU microseconds per request of the firing phase, by role, and their sum. */
  usPerRequest: Record<string, number>;
  /** Share of the machine's cores busy during the firing phase (0-1). */
  machineBusy: number;
}

const ROLE_BY_COMM: Record<string, string> = {
  "redis-server": "redis",
  postgres: "postgres",
  java: "kafka",
};

function readProcs(known: Map<number, string>): Sample["perPid"] {
  const procs = new Map<number, { comm: string; ppid: number; ticks: number }>();
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    } catch {
      continue; // gone between the listing and the read
    }
    const close = stat.lastIndexOf(")");
    const comm = stat.slice(stat.indexOf("(") + 1, close);
    const fields = stat.slice(close + 2).split(" ");
    // Fields after the command: state is field 3, utime 14, stime 15 (man 5 proc).
    procs.set(pid, { comm, ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) });
  }
  // A known process's descendants count with it (the bench's generator is a child of `stampede bench`).
  const roleOf = (pid: number): string | undefined => {
    for (let p = pid, depth = 0; p > 1 && depth < 8; depth++) {
      const role = known.get(p);
      if (role) return role;
      p = procs.get(p)?.ppid ?? 0;
    }
    return ROLE_BY_COMM[procs.get(pid)?.comm ?? ""];
  };
  const out: Sample["perPid"] = new Map();
  for (const [pid, { ticks }] of procs) {
    const role = roleOf(pid);
    if (role && ticks >= 0) out.set(pid, { role, ticks });
  }
  return out;
}

function readMachine(): { busy: number; total: number } {
  const cpu = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = cpu.reduce((a, b) => a + b, 0);
  const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0); // idle + iowait
  return { busy: total - idle, total };
}

export class CpuSampler {
  readonly #samples: Sample[] = [];
  readonly #known: () => Map<number, string>;
  readonly #timer: NodeJS.Timeout;

  /** `known` names the pids of the processes the scenario started (read at every sample). */
  constructor(known: () => Map<number, string>) {
    this.#known = known;
    this.#take();
    this.#timer = setInterval(() => this.#take(), 200);
    this.#timer.unref();
  }

  #take(): void {
    try {
      this.#samples.push({ at: Date.now(), perPid: readProcs(this.#known()), ...readMachine() });
    } catch {
      // not Linux: no figures
    }
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#take();
  }

  /** The CPU of the window [from, to] (epoch ms), per request of `requests`. */
  window(from: number, to: number, requests: number): CpuShare | undefined {
    const nearest = (t: number) =>
      this.#samples.reduce<Sample | undefined>(
        (best, s) => (!best || Math.abs(s.at - t) < Math.abs(best.at - t) ? s : best),
        undefined,
      );
    const start = nearest(from);
    const end = nearest(to);
    if (!start || !end || end.at <= start.at || requests <= 0) return undefined;
    const byRole: Record<string, number> = {};
    for (const [pid, { role, ticks }] of end.perPid) {
      // A process born inside the window spent all its ticks in it.
      const before = start.perPid.get(pid)?.ticks ?? 0;
      byRole[role] = (byRole[role] ?? 0) + Math.max(0, ticks - before);
    }
    const usPerRequest: Record<string, number> = {};
    let sum = 0;
    for (const [role, ticks] of Object.entries(byRole)) {
      const us = (ticks * TICK_US) / requests;
      if (us < 0.5) continue;
      usPerRequest[role] = Math.round(us);
      sum += us;
    }
    usPerRequest.total = Math.round(sum);
    const machineBusy = (end.busy - start.busy) / Math.max(1, end.total - start.total);
    return { usPerRequest, machineBusy };
  }
}

export function formatCpu(share: CpuShare | undefined): string {
  if (!share) return "";
  const parts = Object.entries(share.usPerRequest)
    .filter(([role]) => role !== "total")
    .sort((a, b) => b[1] - a[1])
    .map(([role, us]) => `${role} ${us}`);
  return ` cpu µs/req ${parts.join(" ")} = ${share.usPerRequest.total} (machine ${Math.round(share.machineBusy * 100)}% busy)`;
}
