import type { Claim } from "../../domain/types.ts";
import type { ClaimListener, Notifier } from "../../ports/notifier.ts";
import { ClaimWatchers } from "../claim-watchers.ts";

/** In-process notifier (embedded mode): a map of claim id to listeners. */
export class MemoryNotifier implements Notifier {
  readonly #watchers = new ClaimWatchers();

  async publish(claims: readonly Claim[]): Promise<void> {
    for (const claim of claims) this.#watchers.emit(claim);
  }

  async subscribe(claimId: string, listener: ClaimListener): Promise<() => void> {
    return this.#watchers.add(claimId, listener);
  }

  async close(): Promise<void> {
    this.#watchers.clear();
  }
}
