import type { Claim } from "../../domain/types.ts";
import type { ClaimListener, Notifier } from "../../ports/notifier.ts";

/** In-process notifier (embedded mode): a map of claim id to listeners. */
export class MemoryNotifier implements Notifier {
  readonly #listeners = new Map<string, Set<ClaimListener>>();

  async publish(claims: readonly Claim[]): Promise<void> {
    for (const claim of claims) {
      const listeners = this.#listeners.get(claim.claimId);
      if (listeners) for (const listener of [...listeners]) listener(claim);
    }
  }

  async subscribe(claimId: string, listener: ClaimListener): Promise<() => void> {
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

  async close(): Promise<void> {
    this.#listeners.clear();
  }
}
