/**
 * What the embedded store keeps of a hold (docs/api.md "Holds") while its
 * story is not over in the ledger, and how the claim shows it.
 *
 * A hold's state has three sides:
 * - the decision, made in one synchronous step where admission is decided
 *   (so confirm and expiry cannot both win): open, confirmed, expired or
 *   released, with the time it was made;
 * - what is durable: the newest decision whose snapshot the journal has
 *   fsync'ed. The claim shows that one, never a decision a crash could undo;
 * - what the ledger holds (markWritten): nothing yet, held, issued or ended.
 *
 * | decision  | shown (once durable)             | unit, user slot | counted as                         |
 * |-----------|----------------------------------|-----------------|------------------------------------|
 * | open      | pending, held once in the ledger | kept            | admitted; held once in the ledger  |
 * | confirmed | issued, with its coupon code     | kept            | admitted; issued once in the ledger|
 * | expired   | expired                          | given back      | nothing                            |
 * | released  | released                         | given back      | nothing                            |
 *
 * Once the ledger holds the final state and it is durable, the store forgets
 * the Hold and keeps only the claim, whose status then says it all.
 */
import type { Claim } from "../../domain/types.ts";

export type Decision = "open" | "confirmed" | "expired" | "released";

export type LedgerState = "none" | "held" | "issued" | "ended";

export interface Hold {
  /** The claim as shown (the same object admission answers with). */
  readonly claim: Claim;
  decision: Decision;
  /** When the decision was made: the confirmation's issuedAt, the end's endedAt. */
  decidedAt: number;
  /** The newest decision that is durable: what the claim shows. */
  shown: Decision;
  ledger: LedgerState;
  /** Resolves once `decision` is durable (rejects when the journal failed). */
  settled: Promise<void>;
}

export const isActiveDecision = (decision: Decision): boolean =>
  decision === "open" || decision === "confirmed";

/** The decision a snapshot or a ledger row states. */
export function decisionOf(claim: Claim): Decision {
  switch (claim.status) {
    case "issued":
      return "confirmed";
    case "expired":
    case "released":
      return claim.status;
    default:
      return "open";
  }
}

/** Sets what the claim shows from the durable decision and the ledger's state. */
export function present(hold: Hold): void {
  const { claim } = hold;
  switch (hold.shown) {
    case "open":
      claim.status = hold.ledger === "held" ? "held" : "pending";
      return;
    case "confirmed":
      claim.status = "issued";
      claim.issuedAt = hold.decidedAt;
      return;
    default:
      claim.status = hold.shown;
      claim.endedAt = hold.decidedAt;
  }
}

/** The snapshot a decision puts on the queue (a copy: the claim shown goes on changing). */
export function snapshotOf(claim: Claim, decision: Decision, at: number): Claim {
  const snapshot: Claim = { ...claim, status: "pending", issuedAt: undefined, endedAt: undefined };
  if (decision === "confirmed") {
    snapshot.status = "issued";
    snapshot.issuedAt = at;
  } else if (decision !== "open") {
    snapshot.status = decision;
    snapshot.endedAt = at;
  }
  return snapshot;
}
