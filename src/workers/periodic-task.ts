export interface PeriodicTaskOptions {
  intervalMs: number;
  /** One run. A rejection is logged and the next run comes at the next interval. */
  run: () => Promise<unknown>;
  /** Where a failed run is reported (a pino logger fits). */
  logger: { warn(fields: { err: unknown }, message: string): void };
  /** The log line of a failed run, e.g. "Redis loss check failed". */
  failureMessage: string;
  /** When true, the timer alone does not keep the process alive (default false). */
  unref?: boolean;
}

/**
 * A run every `intervalMs`, for the loops that watch or maintain something in
 * the background (loss detection, retention, the outbox relay...). Runs never
 * overlap: a tick that comes while a run is in hand is skipped. Errors are
 * logged, never thrown. stop() clears the timer and waits for the run in
 * hand, so nothing runs once it resolved; start() after stop() starts again.
 */
export class PeriodicTask {
  readonly #o: PeriodicTaskOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  constructor(options: PeriodicTaskOptions) {
    this.#o = options;
  }

  /** Starts the timer (the first run comes after one interval); a no-op while started. */
  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => this.#tick(), this.#o.intervalMs);
    if (this.#o.unref) this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  get started(): boolean {
    return this.#timer !== undefined;
  }

  #tick(): void {
    if (this.#running) return;
    let run: Promise<unknown>;
    try {
      run = this.#o.run();
    } catch (error) {
      run = Promise.reject(error);
    }
    this.#running = run
      .then(
        () => undefined,
        (error: unknown) => this.#o.logger.warn({ err: error }, this.#o.failureMessage),
      )
      .finally(() => {
        this.#running = undefined;
      });
  }
}
