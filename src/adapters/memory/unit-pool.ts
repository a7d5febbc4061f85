import { MinHeap } from "./min-heap.ts";

/**
 * A campaign's unit numbers (1..stock) in the embedded store. Units are
 * handed out from the bottom: the lowest one given back (by an expired or
 * released hold) first, else the next never used. The ledger's unique key on
 * (campaign, unit) among active claims is what keeps a unit from being held
 * twice; this pool keeps admission from ever asking it to.
 */
export class UnitPool {
  /** The highest unit number handed out; every unit above it is free. */
  #highest = 0;
  /** Units at or below #highest that were given back. */
  readonly #free = new MinHeap<number>((a, b) => a < b);

  take(): number {
    return this.#free.pop() ?? ++this.#highest;
  }

  /** A unit comes back (its hold ended): the next claim may take it. */
  give(unit: number): void {
    this.#free.push(unit);
  }

  /** The highest unit number a claim holds (0: none): what a stock may not go under. Rare: a scan. */
  highestInUse(): number {
    const free = new Set(this.#free.values());
    let unit = this.#highest;
    while (unit > 0 && free.has(unit)) unit--;
    return unit;
  }

  /**
   * A lower stock: allowed when every unit above it is free (they are then
   * forgotten). false when a claim still holds one.
   */
  shrinkTo(stock: number): boolean {
    if (stock >= this.#highest) return true;
    const above = this.#free.values().filter((u) => u > stock).length;
    if (above !== this.#highest - stock) return false;
    this.#free.retain((u) => u <= stock);
    this.#highest = stock;
    return true;
  }

  /** After a restart: the units active claims hold; every other unit below the highest is free. */
  rebuild(inUse: Iterable<number>): void {
    const used = new Set<number>();
    let highest = 0;
    for (const unit of inUse) {
      used.add(unit);
      if (unit > highest) highest = unit;
    }
    this.#highest = highest;
    this.#free.retain(() => false);
    for (let unit = 1; unit <= this.#highest; unit++) if (!used.has(unit)) this.#free.push(unit);
  }
}
