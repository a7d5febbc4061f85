import type { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";

/**
 * Takes batches off an object-mode Readable: waits for a first item, then up
 * to `flushMs` for more, and returns at most `max` items. Reading only when a
 * batch is wanted keeps the stream's backpressure: while a batch is being
 * handled, the stream stops fetching once its buffer is full.
 */
export class StreamBatcher<T> {
  readonly #stream: Readable;
  #wake: (() => void) | undefined;
  #failure: Error | undefined;
  #ended = false;

  constructor(stream: Readable) {
    this.#stream = stream;
    const wake = () => this.wake();
    stream.on("readable", wake);
    stream.on("end", () => {
      this.#ended = true;
      wake();
    });
    stream.on("close", () => {
      this.#ended = true;
      wake();
    });
    stream.on("error", (error: Error) => {
      this.#failure = error;
      wake();
    });
  }

  /** Why the stream stopped, once it did (an error, or an unexpected end). */
  get failure(): Error | undefined {
    return this.#failure ?? (this.#ended ? new Error("the message stream ended") : undefined);
  }

  /** Ends a pending next() early (stop). */
  wake(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /** Resolves with 1..max items, or none when woken early or the stream stopped. */
  async next(max: number, flushMs: number): Promise<T[]> {
    const out: T[] = [];
    this.#pull(out, max);
    if (out.length === 0) {
      if (this.failure) return out;
      await this.#waitForData();
      this.#pull(out, max);
    }
    if (out.length > 0 && out.length < max && flushMs > 0 && !this.failure) {
      await sleep(flushMs);
      this.#pull(out, max);
    }
    return out;
  }

  #pull(out: T[], max: number): void {
    while (out.length < max) {
      const item = this.#stream.read() as T | null;
      if (item === null) return;
      out.push(item);
    }
  }

  #waitForData(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#wake = resolve;
    });
  }
}
