import type { Claim } from "../domain/types.ts";
import type { ClaimListener } from "../ports/notifier.ts";

/** Listeners by claim id: the in-process half of every Notifier (memory, Redis). */
export class ClaimWatchers {
  readonly #listeners = new Map<string, Set<ClaimListener>>();

  /** Adds a listener; returns what removes it. */
  add(claimId: string, listener: ClaimListener): () => void {
    let listeners = this.#listeners.get(claimId);
    if (!listeners) {
      listeners = new Set();
      this.#listeners.set(claimId, listeners);
    }
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0) this.#listeners.delete(claimId);
    };
  }

  emit(claim: Claim): void {
    const listeners = this.#listeners.get(claim.claimId);
    if (listeners) for (const listener of [...listeners]) listener(claim);
  }

  /** The claim ids someone listens to. */
  ids(): string[] {
    return [...this.#listeners.keys()];
  }

  clear(): void {
    this.#listeners.clear();
  }
}
