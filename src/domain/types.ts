/** The contract's nouns, shared by every part. Times are epoch milliseconds inside, RFC3339 outside. */

export interface Campaign {
  id: string;
  name: string;
  stock: number;
  perUserLimit: number;
  startsAt: number | null;
  endsAt: number | null;
  createdAt: number;
  /** Set by the lifecycle routes (docs/lifecycle.md); absent means "open" (stores written before them). */
  status?: CampaignStatus | undefined;
  /** Bumped by every lifecycle change, so the ledger keeps the newest when two changes race; absent = 0. */
  revision?: number | undefined;
}

/** open: admits within its window; paused: refuses with reason "paused" until resumed; closed: for good. */
export type CampaignStatus = "open" | "paused" | "closed";

export const campaignStatus = (campaign: Campaign): CampaignStatus => campaign.status ?? "open";

export type ClaimStatus = "pending" | "issued";

/**
 * One admitted claim. `unit` (1..stock) and `seq` (1..perUserLimit) are fixed at
 * admission; the ledger holds unique keys on (campaign, unit) and
 * (campaign, user, seq) so that neither a redelivery nor a wrong rebuild can
 * issue one unit or one user's slot twice.
 */
export interface Claim {
  claimId: string;
  campaignId: string;
  userId: string;
  seq: number;
  unit: number;
  couponCode: string;
  admittedAt: number;
  status: ClaimStatus;
  issuedAt?: number | undefined;
  idempotencyKey?: string | undefined;
}

export interface CampaignCounters {
  /** Claims admitted (pending or issued). */
  admitted: number;
  /** Claims durably in the ledger. */
  issued: number;
}
