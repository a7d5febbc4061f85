/**
 * Changes to a campaign of the embedded admission (./memory-admission.ts),
 * each in one synchronous step, so that no claim is decided between the
 * check and the change: an operator's change (stock, end, close) and a
 * user's erasure.
 */
import { erasedUserId } from "../../domain/erasure.ts";
import type { Campaign } from "../../domain/types.ts";
import type { CampaignChange, ChangeOutcome } from "../../ports/admission.ts";
import type { AdmissionBooks, CampaignState } from "./campaign-state.ts";

export function changeCampaign(
  state: CampaignState,
  change: CampaignChange,
  clock: () => number,
): ChangeOutcome {
  const previous = state.campaign;
  if (previous.status === "closed") return { kind: "closed", campaign: previous };
  // A unit above the new stock still held (a hold's unit may be reused below it) refuses it.
  if (change.stock !== undefined && (change.stock < state.admitted || !state.units.shrinkTo(change.stock)))
    return {
      kind: "stock_below_admitted",
      campaign: previous,
      admitted: Math.max(state.admitted, state.units.highestInUse()),
    };
  const now = clock();
  let endsAt = change.endsAt === undefined ? previous.endsAt : change.endsAt;
  // Closing ends the campaign now: endsAt says when it stopped.
  if (change.status === "closed" && (endsAt === null || endsAt > now)) endsAt = now;
  const campaign: Campaign = {
    ...previous,
    status: change.status ?? previous.status ?? "open",
    stock: change.stock ?? previous.stock,
    endsAt,
    revision: (previous.revision ?? 0) + 1,
  };
  state.campaign = campaign;
  return { kind: "changed", campaign, previous, admitted: state.admitted, appliedAt: now };
}

/**
 * Renames the user's claims to their erased ids: how many, or "pending" when
 * one is not finished by the ledger (it would be written with the userId).
 * The caller drops the user's Idempotency-Key answers.
 */
export function eraseUser(books: AdmissionBooks, state: CampaignState, userId: string): number | "pending" {
  const claims = state.users.get(userId) ?? [];
  if (claims.some((c) => c.status === "pending" || books.holds.has(c.claimId))) return "pending";
  for (const claim of claims) {
    // The same object sits in the claims and in idempotency answers: renaming
    // it here renames it everywhere.
    claim.userId = erasedUserId(claim.claimId);
    claim.idempotencyKey = undefined;
    state.users.set(claim.userId, [claim]);
  }
  state.users.delete(userId);
  return claims.length;
}
