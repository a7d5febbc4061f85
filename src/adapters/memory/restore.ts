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
import {
  type AdmissionBooks,
  addUserClaim,
  type CampaignState,
  isActive,
  newExpiries,
} from "./campaign-state.ts";
import { type Decision, decisionOf, type Hold, type LedgerState, present } from "./holds.ts";

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

/**
 * Rebuild after a restart, once the campaigns are put: the journal's
 * surviving snapshots (already queued again for the worker) and the ledger's
 * active claims. Holds whose expiresAt has passed stay open here; the next
 * reapExpired() or admit() expires them. `admitted` is told each restored
 * claim (its Idempotency-Key answers with it).
 */
export function restoreClaims(
  books: AdmissionBooks,
  journal: Iterable<Claim>,
  ledger: Iterable<Claim>,
  admitted: (claim: Claim) => void,
): void {
  const touched = new Set<CampaignState>();
  for (const restored of mergeRestored(ledger, journal).values()) {
    const { claim } = restored;
    const state = books.campaigns.get(claim.campaignId);
    if (!state || books.claims.has(claim.claimId)) continue;
    touched.add(state);
    books.claims.set(claim.claimId, claim);
    addUserClaim(state, claim);
    if (restored.hold) {
      const hold: Hold = {
        claim,
        decision: restored.decision,
        decidedAt: restored.decidedAt,
        shown: restored.decision,
        ledger: restored.ledger,
        settled: Promise.resolve(),
      };
      present(hold);
      if (!(restored.ledger === "issued" && restored.decision === "confirmed"))
        books.holds.set(claim.claimId, hold);
    } else claim.status = restored.ledger === "issued" ? "issued" : "pending";
    admitted(claim);
  }
  for (const state of touched) recount(books, state);
}

/** Counters, unit pool and expiry order of a campaign, from its claims (after restoreClaims()). */
function recount(books: AdmissionBooks, state: CampaignState): void {
  state.admitted = 0;
  state.issued = 0;
  state.held = 0;
  state.expiries = newExpiries();
  const units: number[] = [];
  for (const claims of state.users.values()) {
    claims.sort((a, b) => a.admittedAt - b.admittedAt || a.seq - b.seq);
    for (const claim of claims) {
      const hold = books.holds.get(claim.claimId);
      if (!isActive(books, claim)) continue;
      state.admitted++;
      units.push(claim.unit);
      if (hold ? hold.ledger === "issued" : claim.status === "issued") state.issued++;
      if (hold?.decision === "open") {
        if (hold.ledger === "held") state.held++;
        state.expiries.push({ at: claim.expiresAt ?? 0, claimId: claim.claimId });
      }
    }
  }
  state.units.rebuild(units);
}
