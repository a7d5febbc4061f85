/**
 * Fails fast while Kafka does not acknowledge. Without it, every claim during
 * a broker outage would reserve a unit, wait the full request timeout and be
 * answered 503 with its reservation left in the outbox (the relay sends it
 * later; the client learns it with a 409 on retry). With it, after a failed
 * or slow produce, claims are answered 503 at once with nothing reserved.
 * After a while (doubling with each further failure, up to `maxMs`) one claim
 * goes through as a probe; its acknowledgement closes the breaker, its
 * failure opens it again.
 */
export class Breaker {
  readonly #baseMs: number;
  readonly #maxMs: number;
  readonly #now: () => number;
  #failures = 0;
  #openUntil = 0;
  #probing = false;

  constructor(options: { baseMs?: number; maxMs?: number; now?: () => number } = {}) {
    this.#baseMs = options.baseMs ?? 1000;
    this.#maxMs = options.maxMs ?? 5000;
    this.#now = options.now ?? Date.now;
  }

  get isClosed(): boolean {
    return this.#failures === 0;
  }

  /** Whether a claim may try Kafka now (at most one probe at a time while open). */
  tryPass(): boolean {
    if (this.#failures === 0) return true;
    if (this.#now() < this.#openUntil || this.#probing) return false;
    this.#probing = true;
    return true;
  }

  /** Seconds until a claim may try again (for Retry-After), at least 1. */
  get retryAfterSec(): number {
    return Math.max(1, Math.ceil((this.#openUntil - this.#now()) / 1000));
  }

  /** The claim let through as a probe did not need Kafka after all (a 409, a 410, a Redis error...). */
  release(): void {
    this.#probing = false;
  }

  success(): void {
    this.#failures = 0;
    this.#openUntil = 0;
    this.#probing = false;
  }

  failure(): void {
    this.#failures++;
    this.#probing = false;
    const wait = Math.min(this.#maxMs, this.#baseMs * 2 ** (this.#failures - 1));
    this.#openUntil = Math.max(this.#openUntil, this.#now() + wait);
  }
}
