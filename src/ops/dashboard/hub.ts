import type { ServerResponse } from "node:http";
import type { ApiDeps } from "../../http/deps.ts";
import type { CampaignStats } from "../../ports/stats.ts";
import type { Metrics } from "../metrics/metrics.ts";
import { type Rates, rates, type Sample, sample } from "../metrics/rates.ts";
import { campaignStats, collectStats, queueStats, SNAPSHOT_CAMPAIGNS } from "../stats/collect.ts";

/**
 * One server-side producer for every open dashboard: each tick builds ONE
 * snapshot (campaign counters, rates, queue lag), serializes it once and
 * writes the same bytes to every stream. Ten open dashboards cost what one
 * does, and nothing runs while none is open. The fuller (and dearer) stats,
 * Redis memory included, go out every `statsEvery` ticks. The snapshots
 * double as the heartbeat that keeps proxies from closing the stream.
 */
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

export class DashboardHub {
  readonly #deps: ApiDeps;
  readonly #metrics: Metrics;
  readonly #intervalMs: number;
  readonly #statsEvery: number;
  readonly #clients = new Set<ServerResponse>();
  #timer: NodeJS.Timeout | undefined;
  #ticks = 0;
  #busy = false;
  #previous: Sample | undefined;
  #closed = false;

  constructor(deps: ApiDeps, metrics: Metrics, options: HubOptions = {}) {
    this.#deps = deps;
    this.#metrics = metrics;
    this.#intervalMs = options.intervalMs ?? 1000;
    this.#statsEvery = options.statsEvery ?? 5;
  }

  get clients(): number {
    return this.#clients.size;
  }

  /** Adds an open stream: it gets a snapshot and the stats at once, then every tick. */
  async add(stream: ServerResponse): Promise<void> {
    if (this.#closed) {
      stream.end();
      return;
    }
    this.#clients.add(stream);
    stream.on("close", () => this.#remove(stream));
    if (!this.#timer) {
      this.#previous = await sample(this.#metrics);
      this.#timer = setInterval(() => void this.#tick(), this.#intervalMs);
      this.#timer.unref();
    }
    const [snapshot, stats] = await Promise.all([this.#snapshot(null), collectStats(this.#deps)]);
    write(stream, frame("snapshot", snapshot));
    write(stream, frame("stats", stats));
  }

  /** Ends every stream (graceful shutdown): browsers reconnect to whichever instance is up. */
  close(): void {
    this.#closed = true;
    for (const stream of this.#clients) stream.end();
    this.#clients.clear();
    this.#stop();
  }

  #remove(stream: ServerResponse): void {
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
      const frames = [frame("snapshot", await this.#snapshot(windowRates))];
      this.#ticks++;
      if (this.#ticks % this.#statsEvery === 0) frames.push(frame("stats", await collectStats(this.#deps)));
      const bytes = frames.join("");
      for (const stream of this.#clients) write(stream, bytes);
    } catch {
      // The next tick tries again; /v1/admin/stats shows which dependency failed.
    } finally {
      this.#busy = false;
    }
  }

  async #snapshot(windowRates: Rates | null): Promise<Snapshot> {
    const [{ campaigns, total }, queue] = await Promise.all([
      campaignStats(this.#deps, SNAPSHOT_CAMPAIGNS),
      queueStats(this.#deps).catch(() => undefined),
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

const frame = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

/** A stream that cannot keep up is dropped rather than buffered without bound. */
function write(stream: ServerResponse, bytes: string): void {
  if (stream.writableEnded || stream.destroyed) return;
  if (stream.writableLength > 1024 * 1024) {
    stream.destroy();
    return;
  }
  stream.write(bytes);
}
