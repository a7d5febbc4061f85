import type { Claim } from "../domain/types.ts";

/** Tells waiting clients (SSE) that a claim changed, whichever process changed it. */
export type ClaimListener = (claim: Claim) => void;

export interface Notifier {
  publish(claims: readonly Claim[]): Promise<void>;
  /** Resolves once the subscription is live, so a status read after it cannot miss the event. */
  subscribe(claimId: string, listener: ClaimListener): Promise<() => void>;
  close(): Promise<void>;
}
