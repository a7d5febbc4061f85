/**
 * What the embedded store knows after a restart, from the two durable
 * records: the ledger's active claims (held, with expiresAt, and issued) and
 * the journal's surviving snapshots (not yet acknowledged by the worker;
 * several per claim with holds, oldest first). For each claim the most
 * advanced decision wins, and a final one is final: a hold the ledger holds
 * as held and the journal as expired is expired; one the journal shows
 * confirmed and the ledger lacks is confirmed, not yet written.
 */
import type { Claim } from "../../domain/types.ts";
import { type Decision, decisionOf, type LedgerState } from "./holds.ts";

export interface RestoredClaim {
  /** A copy of the newest snapshot or row, to be shown. */
  claim: Claim;
  /** A hold (its campaign has holdSeconds): it carries expiresAt. */
  hold: boolean;
  decision: Decision;
  decidedAt: number;
  ledger: LedgerState;
}

export function mergeRestored(ledger: Iterable<Claim>, journal: Iterable<Claim>): Map<string, RestoredClaim> {
  const merged = new Map<string, RestoredClaim>();
  for (const row of ledger) {
    if (row.status !== "held" && row.status !== "issued") continue;
    merged.set(row.claimId, {
      claim: { ...row },
      hold: row.expiresAt !== undefined,
      decision: decisionOf(row),
      decidedAt: row.issuedAt ?? row.admittedAt,
      ledger: row.status,
    });
  }
  for (const snapshot of journal) {
    let known = merged.get(snapshot.claimId);
    if (!known) {
      known = {
        claim: { ...snapshot, status: "pending", issuedAt: undefined, endedAt: undefined },
        hold: snapshot.expiresAt !== undefined,
        decision: "open",
        decidedAt: snapshot.admittedAt,
        ledger: "none",
      };
      merged.set(snapshot.claimId, known);
    }
    const decision = decisionOf(snapshot);
    if (known.decision === "open" && decision !== "open") {
      known.decision = decision;
      known.decidedAt = snapshot.issuedAt ?? snapshot.endedAt ?? snapshot.admittedAt;
    }
  }
  return merged;
}
