import type { Campaign, CampaignCounters, CampaignStatus, Claim } from "../domain/types.ts";

/** One claim to decide. */
export interface AdmitRequest {
  campaignId: string;
  userId: string;
  idempotencyKey?: string | undefined;
  /**
   * The client's address, for the per-address rate limit (RATE_LIMIT_IP);
   * absent: no per-address limit for this request (internal callers, tests).
   */
  clientIp?: string | undefined;
}

/** queue: the campaign has a waiting room, whose line is the only way in (docs/api.md "Waiting room"). */
export type NotActiveReason = "not_started" | "ended" | "paused" | "closed" | "queue";

export type AdmitOutcome =
  | { kind: "admitted"; claim: Claim; replayed: boolean }
  | { kind: "already_claimed"; claim: Claim; replayed: boolean }
  | { kind: "not_active"; reason: NotActiveReason; replayed: boolean }
  | { kind: "sold_out"; replayed: boolean }
  | { kind: "campaign_not_found" }
  /** Asked too often (RATE_LIMIT_USER / RATE_LIMIT_IP); nothing was decided or remembered. */
  | { kind: "rate_limited"; retryAfterSec: number };

/** What a lifecycle change sets; absent fields stay as they are. */
export interface CampaignChange {
  status?: CampaignStatus;
  stock?: number;
  /** null removes the end. */
  endsAt?: number | null;
}

export type ChangeOutcome =
  /** appliedAt: the admission clock's time of the change (Redis TIME in distributed mode): the audit's "when". */
  | { kind: "changed"; campaign: Campaign; previous: Campaign; admitted: number; appliedAt: number }
  | { kind: "campaign_not_found" }
  /** A closed campaign changes no more. */
  | { kind: "closed"; campaign: Campaign }
  /** Distributed mode: ended longer than the retention grace ago, its Redis state is gone; it changes no more. */
  | { kind: "archived" }
  /** The new stock is below the units already handed out (admitted, or reserved by a unit number). */
  | { kind: "stock_below_admitted"; campaign: Campaign; admitted: number };

/**
 * A confirm or release of a hold (docs/api.md "Holds"), decided atomically
 * with expiry where admission is decided: a confirm that comes before
 * `expiresAt` by the mode's one clock wins; at or after it, the hold has
 * expired (the confirm itself expires it if no reaper did yet). Answered
 * only once the change is as durable as a 202.
 */
export type HoldOutcome =
  /** Confirmed now (or a repeat of a confirm: `replayed`); the claim is issued, with its coupon code. */
  | { kind: "confirmed"; claim: Claim; replayed: boolean }
  /** Released now (or a repeat: `replayed`); its unit is back in the stock. */
  | { kind: "released"; claim: Claim; replayed: boolean }
  /** Confirm of an expired or released hold; release of an expired one. */
  | { kind: "hold_expired"; claim: Claim }
  /** Release of a confirmed (issued) hold. */
  | { kind: "already_confirmed"; claim: Claim }
  /** A claim of a campaign without holds: final at admission, neither confirmed nor released. */
  | { kind: "not_a_hold"; claim: Claim }
  | { kind: "claim_not_found" };

export type HoldAction = "confirm" | "release";

/**
 * What a confirm or release answers for a claim whose status is final (a
 * ledger row: issued, released, expired), or that is no hold; undefined for
 * a hold still open, whose answer only admission can give.
 */
export function finishedHoldOutcome(action: HoldAction, claim: Claim): HoldOutcome | undefined {
  if (claim.expiresAt === undefined) return { kind: "not_a_hold", claim };
  switch (claim.status) {
    case "issued":
      return action === "confirm"
        ? { kind: "confirmed", claim, replayed: true }
        : { kind: "already_confirmed", claim };
    case "released":
      return action === "release"
        ? { kind: "released", claim, replayed: true }
        : { kind: "hold_expired", claim };
    case "expired":
      return { kind: "hold_expired", claim };
    default:
      return undefined;
  }
}

/** What one reaping pass did for a campaign. */
export interface ReapResult {
  /** Holds expired by this pass (their units are back in the stock). */
  expired: Claim[];
  /** The earliest `expiresAt` still pending, or null when no hold can expire any more. */
  nextDueAt: number | null;
}

export type ForgetOutcome =
  | { kind: "forgotten"; claims: number }
  | { kind: "pending" }
  | { kind: "campaign_not_found" };

/**
 * The admission seam. An AdmissionStore decides, atomically, whether a user
 * gets a unit, and answers only once the admitted claim is as durable as its
 * mode promises (docs/api.md "What a 202 survives"): in the embedded store that means
 * fsync'ed to the journal; in Redis-Streams mode, appended to the stream by the
 * same script; in Kafka mode, acknowledged by the broker. The API never knows
 * which store it talks to.
 *
 * admit() applies the claim rate limits too, in the contract's order (SPEC
 * "Claims"): after the campaign is known, before 409/403/410; a repeat of an
 * Idempotency-Key already answered is answered as before, never
 * rate_limited; and an answer the process already knows without asking
 * shared state (a 410 or 403 for a campaign it knows to be sold out or not
 * active, a 409 for a holder it knows) may come before the limit. Folding
 * the limit in lets the distributed store decide both in one Redis call.
 */
export interface AdmissionStore {
  /** Makes a campaign known to admission (idempotent; the ledger already holds it). */
  putCampaign(campaign: Campaign): Promise<void>;
  getCampaign(campaignId: string): Promise<Campaign | undefined>;
  listCampaigns(): Promise<Campaign[]>;
  counters(campaignId: string): Promise<CampaignCounters | undefined>;

  admit(request: AdmitRequest): Promise<AdmitOutcome>;

  /**
   * The answer admit() would give from what this process already knows,
   * without asking shared state, or undefined (a store in front, such as
   * Kafka mode's, asks before it does anything else). Optional.
   */
  known?(request: AdmitRequest): AdmitOutcome | undefined;

  getClaim(claimId: string): Promise<Claim | undefined>;
  userClaims(campaignId: string, userId: string): Promise<Claim[]>;

  /**
   * Worker side: the ledger now holds these claims with these statuses
   * (WriteResult.written): held ones count as held, issued and ended ones
   * leave admission's pending state. Idempotent: a redelivered batch changes
   * nothing twice.
   */
  markWritten(claims: readonly Claim[]): Promise<void>;

  /** Holds (docs/api.md "Holds"): confirm before expiresAt, atomically with expiry. */
  confirm(claimId: string): Promise<HoldOutcome>;
  /** Holds: gives the unit back at once; refused for a confirmed hold. */
  release(claimId: string): Promise<HoldOutcome>;
  /**
   * Holds: expires every hold of the campaign whose `expiresAt` has come, by
   * stored times (never an in-memory timer alone), giving their units back.
   * The reaper (a PeriodicTask in every process that runs workers) calls it;
   * admit() reaps a campaign's due holds itself before it answers 410.
   */
  reapExpired(campaignId: string): Promise<ReapResult>;

  /**
   * Lifecycle (admin): applies a change atomically with admission, so no claim
   * is decided half before and half after it; validates it against the live
   * counters in the same step (stock never below what is admitted) and bumps
   * the campaign's revision. The caller then records it in the ledger.
   */
  changeCampaign(campaignId: string, change: CampaignChange): Promise<ChangeOutcome>;

  /**
   * Erasure: forgets a user whose issued claims the ledger has already
   * anonymised (docs/lifecycle.md). Atomically refuses while one of the user's
   * claims is still pending (the worker would write it with the userId), else
   * renames the user's claims to their tombstone ids and drops the user.
   */
  forgetUser(campaignId: string, userId: string): Promise<ForgetOutcome>;

  /** Throws when the store cannot answer (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}
