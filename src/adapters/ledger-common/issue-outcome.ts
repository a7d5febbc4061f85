/**
 * The decision inside Ledger.issue(), written once for both SQL ledgers.
 * Each engine supplies its SQL: an insert of the batch that skips every row
 * colliding with a unique key and returns the claim ids it inserted, and a
 * lookup of claims by id. An engine's issue() reads:
 *
 *     const batch = distinctClaims(claims);
 *     const inserted = insertClaims(batch, issuedAt);
 *     const existing = findClaims(notInserted(batch, inserted));
 *     return issueOutcome(batch, inserted, existing, issuedAt);
 *
 * A claim that was not inserted is either this very claim, already in the
 * ledger (a redelivery: issued again, as the ledger holds it, with its first
 * issuedAt), or a different claim holding its unit, user slot or coupon code
 * (a conflict: the ledger's last guard against over-issue).
 */
import type { Claim } from "../../domain/types.ts";
import type { IssueResult } from "../../ports/ledger.ts";

/** Each claim of the batch once: a queue may deliver one claim twice in a batch. */
export function distinctClaims(claims: readonly Claim[]): Claim[] {
  return [...new Map(claims.map((c) => [c.claimId, c])).values()];
}

/** The ids to look up: claims of the batch the insert skipped. */
export function notInserted(batch: readonly Claim[], inserted: ReadonlySet<string>): string[] {
  return batch.filter((c) => !inserted.has(c.claimId)).map((c) => c.claimId);
}

/** The result, in batch order: inserted and redelivered claims are issued, the rest are conflicts. */
export function issueOutcome(
  batch: readonly Claim[],
  inserted: ReadonlySet<string>,
  existing: readonly Claim[],
  issuedAt: number,
): IssueResult {
  const inLedger = new Map(existing.map((c) => [c.claimId, c]));
  const issued: Claim[] = [];
  const conflicts: Claim[] = [];
  for (const claim of batch) {
    if (inserted.has(claim.claimId)) {
      issued.push({ ...claim, status: "issued", issuedAt });
      continue;
    }
    const row = inLedger.get(claim.claimId);
    if (row) issued.push(row);
    else conflicts.push(claim);
  }
  return { issued, conflicts };
}
