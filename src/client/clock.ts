/**
 * The server's clock as seen from here, for countdowns: a campaign opens at
 * `startsAt` by the server's clock, and the device's own may be minutes off.
 * Each campaign read carries `serverTime`; the offset is taken at the middle
 * of the round trip, and the sample with the shortest round trip (the least
 * uncertain) is kept, unless it is older than `maxAgeMs`.
 */
export class ServerClock {
  #offsetMs = 0;
  #roundTripMs = Number.POSITIVE_INFINITY;
  #sampledAt = 0;
  #samples = 0;
  readonly #maxAgeMs: number;

  constructor(maxAgeMs = 10 * 60_000) {
    this.#maxAgeMs = maxAgeMs;
  }

  /** Records one answer: its serverTime, and when the request was sent and answered (Date.now()). */
  sample(serverTime: string, sentAt: number, receivedAt: number): void {
    const server = Date.parse(serverTime);
    if (Number.isNaN(server)) return;
    const roundTrip = Math.max(0, receivedAt - sentAt);
    if (roundTrip > this.#roundTripMs && receivedAt - this.#sampledAt < this.#maxAgeMs) return;
    this.#offsetMs = server - (sentAt + receivedAt) / 2;
    this.#roundTripMs = roundTrip;
    this.#sampledAt = receivedAt;
    this.#samples++;
  }

  /** Server clock minus this device's clock, in ms (0 until a campaign was read). */
  get offsetMs(): number {
    return this.#offsetMs;
  }

  /** True once a campaign read gave a sample. */
  get synced(): boolean {
    return this.#samples > 0;
  }

  /** The server's time now, in epoch ms. */
  now(): number {
    return Date.now() + this.#offsetMs;
  }

  /** Milliseconds from now until `time` (RFC3339) by the server's clock; negative once past. */
  msUntil(time: string): number {
    return Date.parse(time) - this.now();
  }
}
