import type { Campaign, CampaignStatus, Claim } from "../domain/types.ts";

/** Ledger rows as both SQL engines return them (PostgreSQL bigints parsed to number by the pool) and their domain objects. */
export interface ClaimRow {
  claim_id: string;
  campaign_id: string;
  user_id: string;
  seq: number;
  unit: number;
  coupon_code: string;
  admitted_at: number;
  issued_at: number;
  idempotency_key: string | null;
}

export interface CampaignRow {
  id: string;
  name: string;
  stock: number;
  per_user_limit: number;
  starts_at: number | null;
  ends_at: number | null;
  created_at: number;
  status: CampaignStatus;
  revision: number;
}

export const toClaim = (row: ClaimRow): Claim => ({
  claimId: row.claim_id,
  campaignId: row.campaign_id,
  userId: row.user_id,
  seq: row.seq,
  unit: row.unit,
  couponCode: row.coupon_code,
  admittedAt: row.admitted_at,
  status: "issued",
  issuedAt: row.issued_at,
  idempotencyKey: row.idempotency_key ?? undefined,
});

export const toCampaign = (row: CampaignRow): Campaign => ({
  id: row.id,
  name: row.name,
  stock: row.stock,
  perUserLimit: row.per_user_limit,
  startsAt: row.starts_at,
  endsAt: row.ends_at,
  createdAt: row.created_at,
  status: row.status,
  revision: row.revision,
});
