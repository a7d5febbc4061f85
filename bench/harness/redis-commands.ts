/**
 * Redis commands per claim, for every process of a distributed run: each
 * stampede process counts the commands it sends (`stampede_redis_commands_total`,
 * src/adapters/redis/command-count.ts); this samples every process's
 * /metrics during the run and cuts the firing phase out afterwards, as
 * cpu.ts does with CPU. A Redis shared with other work (tests, other runs)
 * cannot tell, from INFO commandstats, which of its commands came from which
 * process; the processes themselves can.
 *
 * Sampled every 500 ms (a scrape, default metrics included, costs the process
 * about half a millisecond: about 0.1% of a core); the window's edges are
 * interpolated between the samples around them.
 */

import { listeningUrl } from "../engine/stampede-process.ts";
import type { Proc } from "./processes.ts";

const METRIC = "stampede_redis_commands_total";

interface Sample {
  at: number;
  /** Commands sent so far, by process name. */
  byProcess: Map<string, number>;
}

export interface RedisCommandShare {
  /** By process name ("stampede api #1"): commands per admitted claim (202) and per request. */
  perProcess: Record<string, { commands: number; perAdmitted: number | undefined; perRequest: number }>;
}

/** The sum of every series of the command counter in a Prometheus text. */
export function commandsIn(text: string): number {
  let total = 0;
  for (const line of text.split("\n"))
    if (line.startsWith(`${METRIC}{`) || line.startsWith(`${METRIC} `))
      total += Number(line.slice(line.lastIndexOf(" ") + 1)) || 0;
  return total;
}

export class RedisCommandSampler {
  readonly #processes: Proc[];
  readonly #samples: Sample[] = [];
  readonly #timer: NodeJS.Timeout;
  #taking: Promise<void> | undefined;

  constructor(processes: Proc[]) {
    this.#processes = processes;
    this.#timer = setInterval(() => void this.#take(), 500);
    this.#timer.unref();
    void this.#take();
  }

  async #take(): Promise<void> {
    if (this.#taking) return this.#taking;
    this.#taking = (async () => {
      const at = Date.now();
      const byProcess = new Map<string, number>();
      await Promise.all(
        this.#processes.map(async (p) => {
          // Workers print their URL after start, and are not waited for.
          const url = p.url ?? listeningUrl(p.output());
          if (!url) return;
          try {
            const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(1000) });
            byProcess.set(p.name, commandsIn(await res.text()));
          } catch {
            // not answering now: no sample from it
          }
        }),
      );
      if (byProcess.size > 0) this.#samples.push({ at, byProcess });
    })().finally(() => {
      this.#taking = undefined;
    });
    return this.#taking;
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#taking;
    await this.#take();
  }

  /** The commands of the window [from, to] (epoch ms), per admitted claim and per request. */
  window(from: number, to: number, requests: number, admitted: number): RedisCommandShare | undefined {
    if (requests <= 0) return undefined;
    const perProcess: RedisCommandShare["perProcess"] = {};
    for (const p of this.#processes) {
      const points = this.#samples
        .filter((s) => s.byProcess.has(p.name))
        .map((s) => ({ at: s.at, n: s.byProcess.get(p.name)! }));
      const start = valueAt(points, from);
      const end = valueAt(points, to);
      if (start === undefined || end === undefined) continue;
      const commands = Math.max(0, end - start);
      perProcess[p.name] = {
        commands: Math.round(commands),
        perAdmitted: admitted > 0 ? commands / admitted : undefined,
        perRequest: commands / requests,
      };
    }
    return Object.keys(perProcess).length > 0 ? { perProcess } : undefined;
  }
}

/** A counter's value at `t`, interpolated between the samples around it (the nearest one outside them). */
function valueAt(points: { at: number; n: number }[], t: number): number | undefined {
  if (points.length === 0) return undefined;
  let before = points[0]!;
  if (t <= before.at) return before.n;
  for (const p of points) {
    if (p.at >= t) {
      if (p.at === before.at) return p.n;
      return before.n + ((p.n - before.n) * (t - before.at)) / (p.at - before.at);
    }
    before = p;
  }
  return before.n;
}

export function formatRedisCommands(share: RedisCommandShare | undefined): string {
  if (!share) return "";
  const parts = Object.entries(share.perProcess).map(([name, s]) => {
    const role = name.replace(/^stampede /, "");
    const admitted = s.perAdmitted === undefined ? "" : `${s.perAdmitted.toFixed(2)}/202 `;
    return `${role} ${admitted}${s.perRequest.toFixed(3)}/req`;
  });
  return ` redis cmds ${parts.join(", ")}`;
}
