/**
 * The contract's bodies as a client sees them on the wire (docs/api.md): times
 * are RFC3339 strings, as sent. Fields the Holds and Waiting-room sections add
 * are optional: a server without them leaves them out.
 */
import type { StampedeClientError } from "./errors.ts";

/** `held`, `expired` and `released` exist only in campaigns with `holdSeconds`. */
export type ClaimStatus = "pending" | "issued" | "held" | "expired" | "released";

export interface Claim {
  claimId: string;
  campaignId: string;
  userId: string;
  status: ClaimStatus;
  admittedAt: string;
  /** Shown once the claim is issued. */
  couponCode?: string;
  issuedAt?: string;
  /** Holds: when the unit goes back to the stock unless confirmed. */
  expiresAt?: string;
}

export interface WaitingRoomSettings {
  prequeueSeconds: number;
  releasePerSecond?: number;
}

export interface Campaign {
  id: string;
  name: string;
  stock: number;
  perUserLimit: number;
  startsAt: string | null;
  endsAt: string | null;
  createdAt: string;
  /** Lifecycle: paused and closed campaigns refuse claims. */
  status?: "open" | "paused" | "closed";
  /** Claims durably in the ledger. */
  issued: number;
  /** Claims admitted, not yet in the ledger. */
  pending: number;
  /** Holds not yet confirmed (campaigns with holdSeconds). */
  held?: number;
  remaining: number;
  /** The server's clock when it answered; the client keeps the offset (StampedeClient.serverNow). */
  serverTime: string;
  holdSeconds?: number;
  /** A hot campaign split over this many Redis slots (more than 1; docs/scaling.md). */
  shards?: number;
  waitingRoom?: WaitingRoomSettings;
  /** Waiting room: hex SHA-256 of the draw's seed, shown from creation. */
  drawCommitment?: string;
  /** Waiting room: the seed itself (hex), shown from startsAt. */
  drawSeed?: string;
}

export type TicketStatus = "waiting" | "admitted" | "sold_out";

export interface Ticket {
  ticketId: string;
  campaignId: string;
  userId: string;
  status: TicketStatus;
  /** 1-based among the waiting; null before startsAt (pre-queue) and once not waiting. Never grows while waiting. */
  position: number | null;
  /** Waiting tickets ahead: position - 1 (null with position). */
  ahead: number | null;
  /** The campaign's units not held by an admitted claim. */
  remaining: number;
  /** Seconds until admission at the release rate; null when unknown. */
  etaSeconds: number | null;
  /** Hex HMAC-SHA256 of the userId under the draw's seed (pre-queued tickets, from startsAt). */
  drawValue?: string;
  /** Set once admitted: the claim the ticket became (or its user already held). */
  claimId?: string;
  joinedAt?: string;
}

export interface Draw {
  drawCommitment: string;
  drawSeed: string;
  prequeued: number;
  /** The pre-queue's HMAC values (hex) in draw order. */
  order: string[];
}

/** What `claim()` resolves to: either way but the last, the user holds `claimId`. */
export type ClaimResult =
  | { ok: true; outcome: "admitted"; claimId: string; claim: Claim }
  | {
      ok: true;
      /** 409 already_claimed: the user already holds the most claims allowed; this is the most recent. */
      outcome: "already_claimed";
      claimId: string;
      status: ClaimStatus;
    }
  | { ok: false; error: StampedeClientError };

/** What `confirm()` and `release()` resolve to. */
export type HoldResult = { ok: true; claim: Claim } | { ok: false; error: StampedeClientError };

/** What `joinQueue()` resolves to; `created` is false when the user already had this ticket. */
export type JoinResult =
  | { ok: true; ticket: Ticket; created: boolean }
  | { ok: false; error: StampedeClientError };
