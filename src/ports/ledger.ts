import type { Campaign, Claim } from "../domain/types.ts";

/** What Ledger.issue() did with a batch. */
export interface IssueResult {
  /** Claims now in the ledger (new or already there), with their ledger issuedAt. */
  issued: Claim[];
  /** Claims refused because another claim holds their unit or user slot. */
  conflicts: Claim[];
}

/**
 * The ledger seam: the durable truth (SQLite in embedded mode, PostgreSQL in
 * distributed mode; test/contracts/ledger.ts is what both must do). Writes are
 * idempotent: a claim already in the ledger is reported as issued again, never
 * written twice. A claim that collides with a different claim on
 * (campaign, unit) or (campaign, user, seq) is refused and reported as a
 * conflict: the last guard against over-issue.
 */
export interface Ledger {
  migrate(): Promise<void>;
  /** false when a campaign with this id exists. */
  createCampaign(campaign: Campaign): Promise<boolean>;
  getCampaign(campaignId: string): Promise<Campaign | undefined>;
  listCampaigns(): Promise<Campaign[]>;

  issue(claims: readonly Claim[], issuedAt: number): Promise<IssueResult>;
  issuedCount(campaignId: string): Promise<number>;
  findClaim(claimId: string): Promise<Claim | undefined>;
  userClaims(campaignId: string, userId: string): Promise<Claim[]>;
  /** Every issued claim of a campaign, for rebuilding admission state. */
  campaignClaims(campaignId: string): AsyncIterable<Claim>;
  /**
   * Every issued claim of a campaign in unit order, a page at a time, for the
   * export (GET /v1/campaigns/:id/export): memory holds one page however many
   * claims there are, and the caller may take its time between pages (the
   * response is written with backpressure).
   */
  exportClaims(campaignId: string): AsyncIterable<readonly Claim[]>;

  ping(): Promise<void>;
  close(): Promise<void>;
}
