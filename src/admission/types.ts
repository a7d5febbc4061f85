import type { Campaign, CampaignCounters, Claim } from "../domain/types.ts";

/**
 * The admission seam. An AdmissionStore decides, atomically, whether a user
 * gets a unit, and answers only once the admitted claim is as durable as its
 * mode promises (SPEC "What a 202 survives"): in the embedded store that means
 * fsync'ed to the journal; in Redis-Streams mode, appended to the stream by the
 * same script; in Kafka mode, acknowledged by the broker. The API never knows
 * which store it talks to.
 */
export interface AdmitRequest {
  campaignId: string;
  userId: string;
  idempotencyKey?: string | undefined;
}

export type NotActiveReason = "not_started" | "ended" | "paused" | "closed";

export type AdmitOutcome =
  | { kind: "admitted"; claim: Claim; replayed: boolean }
  | { kind: "already_claimed"; claim: Claim; replayed: boolean }
  | { kind: "not_active"; reason: NotActiveReason; replayed: boolean }
  | { kind: "sold_out"; replayed: boolean }
  | { kind: "campaign_not_found" };

export interface AdmissionStore {
  /** Makes a campaign known to admission (idempotent; the ledger already holds it). */
  putCampaign(campaign: Campaign): Promise<void>;
  getCampaign(campaignId: string): Promise<Campaign | undefined>;
  listCampaigns(): Promise<Campaign[]>;
  counters(campaignId: string): Promise<CampaignCounters | undefined>;

  admit(request: AdmitRequest): Promise<AdmitOutcome>;

  getClaim(claimId: string): Promise<Claim | undefined>;
  userClaims(campaignId: string, userId: string): Promise<Claim[]>;

  /** Worker side: these claims are now in the ledger. */
  markIssued(claims: readonly Claim[]): Promise<void>;

  /** Throws when the store cannot answer (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}
