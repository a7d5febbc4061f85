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
  /**
   * Holds (docs/api.md "Holds"): a claim reserves its unit for this many seconds,
   * until confirmed (issued) or let go (expired, released). Absent or null:
   * no holds, a claim is final once admitted. Fixed at creation.
   */
  holdSeconds?: number | null | undefined;
  /**
   * Waiting room (docs/api.md "Waiting room"): claims come only through the
   * campaign's line. Absent or null: no waiting room. Fixed at creation,
   * with its secret seed (never shown before startsAt).
   */
  waitingRoom?: WaitingRoom | null | undefined;
  /**
   * A hot campaign over shards (docs/scaling.md "Hot campaign: shards"): its
   * stock is split over this many Redis hash-tag slots in distributed mode
   * (1..16; absent = 1). No effect in embedded mode. Fixed at creation.
   */
  shards?: number | undefined;
}

export interface WaitingRoom {
  /** Joining opens this many seconds before startsAt. */
  prequeueSeconds: number;
  /** At most this many tickets admitted a second; absent: as fast as admission allows. */
  releasePerSecond?: number | null | undefined;
  /** The secret draw seed: 32 random bytes, hex. Durable in the ledger before the commitment is shown. */
  seed: string;
  /** Hex SHA-256 of the seed's 32 bytes: shown from creation on. */
  commitment: string;
}

/** open: admits within its window; paused: refuses with reason "paused" until resumed; closed: for good. */
export type CampaignStatus = "open" | "paused" | "closed";

export const campaignStatus = (campaign: Campaign): CampaignStatus => campaign.status ?? "open";

/**
 * pending: admitted, not yet in the ledger. held: a hold in the ledger, not
 * confirmed. issued, expired, released: final (a claim without holds goes
 * from pending to issued; a hold ends in one of the three).
 */
export type ClaimStatus = "pending" | "held" | "issued" | "expired" | "released";

/** The statuses a claim never leaves. */
export type FinalStatus = "issued" | "expired" | "released";

export const isFinal = (status: ClaimStatus): status is FinalStatus =>
  status === "issued" || status === "expired" || status === "released";

/** Active claims hold their unit and their user's slot: pending, held, issued. */
export const isActive = (status: ClaimStatus): boolean =>
  status === "pending" || status === "held" || status === "issued";

/**
 * One admitted claim. `unit` (1..stock) and `seq` (1..perUserLimit) are fixed at
 * admission; the ledger holds unique keys on (campaign, unit) and
 * (campaign, user, seq) among active claims (held, issued) so that neither a
 * redelivery nor a wrong rebuild can issue one unit or one user's slot twice.
 * An expired or released hold gives both back: a later claim may take the
 * same unit number and slot.
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
  /** When it was issued: the ledger's write time, or for a hold the confirmation's time. */
  issuedAt?: number | undefined;
  idempotencyKey?: string | undefined;
  /** Holds only: when the hold expires unless confirmed (admittedAt + holdSeconds, by the mode's one clock). */
  expiresAt?: number | undefined;
  /** Expired or released holds: when that was decided. */
  endedAt?: number | undefined;
}

export interface CampaignCounters {
  /** Units in use: claims admitted and not expired or released (pending, held or issued). */
  admitted: number;
  /** Claims durably in the ledger as issued. */
  issued: number;
  /** Holds in the ledger, not yet confirmed, expired or released (0 for campaigns without holds). */
  held: number;
}

export type TicketStatus = "waiting" | "admitted" | "sold_out";

/** A place in a campaign's waiting room. */
export interface Ticket {
  ticketId: string;
  campaignId: string;
  userId: string;
  status: TicketStatus;
  joinedAt: number;
  /** Joined before startsAt: ordered by the draw (drawValue), else behind them in arrival order. */
  prequeued: boolean;
  /** Hex HMAC-SHA256(seed, userId): pre-queue tickets only, shown once the seed is revealed. */
  drawValue?: string | undefined;
  /** Set once the ticket was admitted: the claim it got (or the one its user already held). */
  claimId?: string | undefined;
}
