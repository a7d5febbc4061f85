/**
 * Every process's resident set size (/proc/<pid>/status) and V8 heap in use
 * (its /metrics), read every few seconds while a load runs. A soak fits a
 * least-squares line through them after its warm-up: RSS growth in MB per
 * minute is the target, and the heap's own slope tells a leak (the heap
 * grows) from the allocator keeping pages (RSS alone grows).
 */

import { listeningUrl } from "../engine/stampede-process.ts";
import { linearFit } from "../engine/stats.ts";
import { loadAverage } from "./kernel.ts";
import { type Proc, statusBytes } from "./processes.ts";

export interface MemorySample {
  /** Epoch ms of the read. */
  at: number;
  /** Resident set size per process name, bytes (absent once a process has exited). */
  rss: Record<string, number>;
  /** V8 heap in use per process name, bytes (absent when its /metrics did not answer). */
  heapUsed: Record<string, number>;
  load1: number;
}

export interface MemoryGrowth {
  growthMBPerMin: number;
  samplesFitted: number;
  heapUsedGrowthMBPerMin: number;
  heapUsedMBAtStart: number;
  heapUsedMBAtEnd: number;
  rssMBAtStart: number;
  rssMBAtEnd: number;
  rssMBPeak: number;
}

const MB = 1048576;

/** The V8 heap in use that a stampede process reports on /metrics (workers listen too). */
async function heapUsedOf(proc: Proc): Promise<number | undefined> {
  const url = proc.url ?? listeningUrl(proc.output());
  if (!url) return undefined;
  try {
    const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(2000) })).text();
    const match = /^nodejs_heap_size_used_bytes (\S+)/m.exec(text);
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

export class MemorySampler {
  readonly samples: MemorySample[] = [];
  readonly #processes: Proc[];
  readonly #intervalMs: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(processes: Proc[], intervalMs: number) {
    this.#processes = processes;
    this.#intervalMs = intervalMs;
  }

  async start(): Promise<void> {
    await this.#take();
    this.#timer = setInterval(() => void this.#take(), this.#intervalMs);
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  async #take(): Promise<void> {
    const at = Date.now();
    const rss: Record<string, number> = {};
    const heapUsed: Record<string, number> = {};
    for (const p of this.#processes) {
      const bytes = statusBytes(p.pid, "VmRSS");
      if (bytes !== undefined) rss[p.name] = bytes;
      const heap = await heapUsedOf(p);
      if (heap !== undefined) heapUsed[p.name] = heap;
    }
    this.samples.push({ at, rss, heapUsed, load1: loadAverage()[0]! });
  }

  /** The samples of [from, to] (epoch ms). */
  during(from: number, to: number): MemorySample[] {
    return this.samples.filter((s) => s.at >= from && s.at <= to);
  }

  /** Per process: the figures of [from, to], the lines fitted from `warmupMs` after `from` on. */
  growth(from: number, to: number, warmupMs: number): Record<string, MemoryGrowth> {
    const during = this.during(from, to);
    const slope = (name: string, field: "rss" | "heapUsed") => {
      const points = during
        .filter((s) => s[field][name] !== undefined && s.at - from >= warmupMs)
        .map((s) => ({ x: (s.at - from) / 60_000, y: s[field][name]! / MB }));
      return { slope: linearFit(points).slope, points: points.length };
    };
    const first = (values: number[]) => (values.length ? values[0]! / MB : Number.NaN);
    const last = (values: number[]) => (values.length ? values.at(-1)! / MB : Number.NaN);
    return Object.fromEntries(
      this.#processes.map(({ name }) => {
        const rss = during.map((s) => s.rss[name]).filter((b): b is number => b !== undefined);
        const heaps = during.map((s) => s.heapUsed[name]).filter((b): b is number => b !== undefined);
        const fit = slope(name, "rss");
        const growth: MemoryGrowth = {
          growthMBPerMin: fit.slope,
          samplesFitted: fit.points,
          heapUsedGrowthMBPerMin: slope(name, "heapUsed").slope,
          heapUsedMBAtStart: first(heaps),
          heapUsedMBAtEnd: last(heaps),
          rssMBAtStart: first(rss),
          rssMBAtEnd: last(rss),
          rssMBPeak: rss.length ? Math.max(...rss) / MB : Number.NaN,
        };
        return [name, growth];
      }),
    );
  }
}
