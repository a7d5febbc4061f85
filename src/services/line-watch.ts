/**
 * Watching tickets, coalesced per campaign (docs/api.md "Read and watch a
 * ticket"): one timer per campaign with watchers in this process, not one
 * per watcher. Each tick reads the line's version once (its counts and the
 * campaign's remaining); only when it moved is each watcher's ticket read
 * again, and a watcher hears at most one value per tick. A tick that finds
 * nothing new hands each watcher its last value again, which the stream
 * uses to pace its heartbeat: no timer of its own either.
 */
import type { Watched } from "./watch.ts";

export interface LineWatchOptions<T> {
  intervalMs: number;
  /** Changes whenever a watcher's value may have (one read per campaign and tick). */
  version: (campaignId: string) => Promise<string>;
  /** A watcher's value; throws when it cannot be read. */
  read: (campaignId: string, ticketId: string) => Promise<T>;
}

interface Watcher<T> {
  ticketId: string;
  last: T;
  deliver: (value: T) => void;
}

interface WatchedLine<T> {
  watchers: Set<Watcher<T>>;
  timer: NodeJS.Timeout;
  version: string | undefined;
  busy: boolean;
}

export class LineWatch<T> {
  readonly #o: LineWatchOptions<T>;
  readonly #lines = new Map<string, WatchedLine<T>>();

  constructor(options: LineWatchOptions<T>) {
    this.#o = options;
  }

  /** The ticket's value now, then the tick's values (the same again when nothing moved). */
  async watch(campaignId: string, ticketId: string): Promise<Watched<T>> {
    const current = await this.#o.read(campaignId, ticketId);
    const early: T[] = [];
    const watcher: Watcher<T> = { ticketId, last: current, deliver: (value) => early.push(value) };
    const line = this.#line(campaignId);
    line.watchers.add(watcher);
    return {
      current,
      listen(listener) {
        for (const value of early.splice(0)) listener(value);
        watcher.deliver = listener;
      },
      stop: () => this.#remove(campaignId, watcher),
    };
  }

  /** Stops every timer; watchers hear no more. */
  close(): void {
    for (const line of this.#lines.values()) clearInterval(line.timer);
    this.#lines.clear();
  }

  #line(campaignId: string): WatchedLine<T> {
    let line = this.#lines.get(campaignId);
    if (!line) {
      const timer = setInterval(() => void this.#tick(campaignId), this.#o.intervalMs);
      timer.unref();
      line = { watchers: new Set(), timer, version: undefined, busy: false };
      this.#lines.set(campaignId, line);
    }
    return line;
  }

  #remove(campaignId: string, watcher: Watcher<T>): void {
    const line = this.#lines.get(campaignId);
    if (!line) return;
    line.watchers.delete(watcher);
    if (line.watchers.size === 0) {
      clearInterval(line.timer);
      this.#lines.delete(campaignId);
    }
  }

  async #tick(campaignId: string): Promise<void> {
    const line = this.#lines.get(campaignId);
    // A slow store must not pile up ticks.
    if (!line || line.busy) return;
    line.busy = true;
    try {
      const version = await this.#o.version(campaignId).catch(() => undefined);
      const moved = version === undefined || version !== line.version;
      line.version = version;
      await Promise.all(
        [...line.watchers].map(async (watcher) => {
          if (moved) {
            try {
              watcher.last = await this.#o.read(campaignId, watcher.ticketId);
            } catch {
              // Not readable now: the last value again; the next tick tries.
            }
          }
          watcher.deliver(watcher.last);
        }),
      );
    } finally {
      line.busy = false;
    }
  }
}
