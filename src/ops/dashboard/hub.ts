import { withTimeout } from "../../http/plugins/request-timeout.ts";
import { type EventStream, sseFrame } from "../../http/plugins/sse.ts";
import type { CampaignStats } from "../../ports/stats.ts";
import type { Metrics } from "../metrics/metrics.ts";
import { type Rates, rates, type Sample, sample } from "../metrics/rates.ts";
import {
  collectStats,
  queueStats,
  SECTION_TIMEOUT_MS,
  SNAPSHOT_CAMPAIGNS,
  type StatsInputs,
} from "../stats/collect.ts";

/** Tick timing (tests shorten it). */
export interface HubOptions {
  intervalMs?: number;
  statsEvery?: number;
}

export interface Snapshot {
  t: number;
  campaigns: CampaignStats[];
  campaignCount: number;
  rates: Rates | null;
  queueLag: number | null;
}

/**
 * One server-side producer for every open dashboard: each tick builds ONE
 * snapshot (campaign counters, rates, queue lag), serializes it once and
 * writes the same bytes to every stream. Ten open dashboards cost what one
 * does, and nothing runs while none is open. The fuller (and dearer) stats,
 * Redis memory included, go out every `statsEvery` ticks. The snapshots
 * double as the heartbeat that keeps proxies from closing the stream.
 */
export class DashboardHub {
  readonly #stats: StatsInputs;
  readonly #metrics: Metrics;
  readonly #intervalMs: number;
  readonly #statsEvery: number;
  readonly #clients = new Set<EventStream>();
  #timer: NodeJS.Timeout | undefined;
  #ticks = 0;
  #busy = false;
  #previous: Sample | undefined;
  #closed = false;

  constructor(stats: StatsInputs, metrics: Metrics, options: HubOptions = {}) {
    this.#stats = stats;
    this.#metrics = metrics;
    this.#intervalMs = options.intervalMs ?? 1000;
    this.#statsEvery = options.statsEvery ?? 5;
  }

  get clients(): number {
    return this.#clients.size;
  }

  /** Adds an open stream: it gets a snapshot and the stats at once, then every tick. */
  async add(stream: EventStream): Promise<void> {
    if (this.#closed) {
      stream.end();
      return;
    }
    this.#clients.add(stream);
    stream.onEnd(() => this.#remove(stream));
    if (!this.#timer) {
      this.#previous = await sample(this.#metrics);
      this.#timer = setInterval(() => void this.#tick(), this.#intervalMs);
      this.#timer.unref();
    }
    const [snapshot, stats] = await Promise.all([this.#snapshot(null), collectStats(this.#stats)]);
    stream.write(sseFrame("snapshot", snapshot));
    stream.write(sseFrame("stats", stats));
  }

  /** Ends every stream (graceful shutdown): browsers reconnect to whichever instance is up. */
  close(): void {
    this.#closed = true;
    for (const stream of [...this.#clients]) stream.end();
    this.#clients.clear();
    this.#stop();
  }

  #remove(stream: EventStream): void {
    this.#clients.delete(stream);
    if (this.#clients.size === 0) this.#stop();
  }

  #stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#previous = undefined;
  }

  async #tick(): Promise<void> {
    // A slow dependency must not pile up ticks.
    if (this.#busy) return;
    this.#busy = true;
    try {
      const now = await sample(this.#metrics);
      const windowRates = this.#previous ? rates(this.#previous, now) : null;
      this.#previous = now;
      const frames = [sseFrame("snapshot", await this.#snapshot(windowRates))];
      this.#ticks++;
      if (this.#ticks % this.#statsEvery === 0)
        frames.push(sseFrame("stats", await collectStats(this.#stats)));
      const bytes = frames.join("");
      for (const stream of this.#clients) stream.write(bytes);
    } catch {
      // The next tick tries again; /v1/admin/stats shows which dependency failed.
    } finally {
      this.#busy = false;
    }
  }

  async #snapshot(windowRates: Rates | null): Promise<Snapshot> {
    // Bounded like the stats sections: a silent dependency skips a tick, it does not stop the ticking.
    const bound = this.#stats.sectionTimeoutMs ?? SECTION_TIMEOUT_MS;
    const [{ campaigns, total }, queue] = await Promise.all([
      withTimeout(this.#stats.campaigns(SNAPSHOT_CAMPAIGNS), bound),
      withTimeout(queueStats(this.#stats), bound).catch(() => undefined),
    ]);
    return {
      t: Date.now(),
      campaigns,
      campaignCount: total,
      rates: windowRates,
      queueLag: queue?.total ?? null,
    };
  }
}
