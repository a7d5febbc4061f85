export interface BoundedCacheOptions {
  maxSize: number;
  /** Entries older than this read as absent (default: no expiry). */
  ttlMs?: number;
  /** Monotonic clock in ms (tests pass their own). */
  now?: () => number;
}

/**
 * A Map with a size bound and, optionally, a time to live: the least
 * recently used entry leaves first once `maxSize` is reached, and an entry
 * older than `ttlMs` reads as absent. For what is computed from request input
 * (campaign ids, for instance), where an unbounded Map would let unknown ids
 * grow memory without limit. `undefined` is a value like any other (a cached
 * "not found"): `get` tells it from a miss with `has`.
 */
export class BoundedCache<K, V> {
  readonly #maxSize: number;
  readonly #ttlMs: number;
  readonly #now: () => number;
  /** Insertion order is recency order: a read moves its entry to the end. */
  readonly #entries = new Map<K, { value: V; until: number }>();

  constructor(options: BoundedCacheOptions) {
    if (options.maxSize < 1) throw new Error("BoundedCache needs maxSize >= 1");
    this.#maxSize = options.maxSize;
    this.#ttlMs = options.ttlMs ?? Number.POSITIVE_INFINITY;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Whether `key` has a live entry (which may hold `undefined`). */
  has(key: K): boolean {
    return this.#live(key) !== undefined;
  }

  get(key: K): V | undefined {
    return this.#live(key)?.value;
  }

  set(key: K, value: V): void {
    this.#entries.delete(key);
    if (this.#entries.size >= this.#maxSize) this.#entries.delete(this.#entries.keys().next().value as K);
    this.#entries.set(key, { value, until: this.#now() + this.#ttlMs });
  }

  delete(key: K): void {
    this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }

  get size(): number {
    return this.#entries.size;
  }

  #live(key: K): { value: V; until: number } | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    this.#entries.delete(key);
    if (entry.until <= this.#now()) return undefined;
    this.#entries.set(key, entry);
    return entry;
  }
}
