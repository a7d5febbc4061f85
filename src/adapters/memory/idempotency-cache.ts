/**
 * Remembers the answer given to an Idempotency-Key, bounded in size and age
 * so that a flood of distinct keys cannot exhaust memory. Map iteration order
 * is insertion order, so the oldest entries are evicted first.
 */
export class IdempotencyCache<V> {
  readonly #entries = new Map<string, { value: Promise<V>; expiresAt: number }>();
  readonly #maxEntries: number;
  readonly #ttlMs: number;

  constructor(maxEntries = 1_000_000, ttlMs = 24 * 3600_000) {
    this.#maxEntries = maxEntries;
    this.#ttlMs = ttlMs;
  }

  get(key: string): Promise<V> | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /** Keeps `value` until `expiresAt` (epoch ms; default: the cache's TTL from now). */
  set(key: string, value: V | Promise<V>, expiresAt = Date.now() + this.#ttlMs): void {
    this.#entries.delete(key);
    this.#entries.set(key, { value: Promise.resolve(value), expiresAt });
    if (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
  }

  get size(): number {
    return this.#entries.size;
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  /** Drops every entry whose key starts with `prefix` (erasure; rare, so a full scan is fine). */
  deletePrefix(prefix: string): void {
    for (const key of this.#entries.keys()) if (key.startsWith(prefix)) this.#entries.delete(key);
  }
}
