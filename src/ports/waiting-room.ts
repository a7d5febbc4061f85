/**
 * The waiting-room seam (docs/api.md "Waiting room"): one line per campaign,
 * where each mode keeps its admission state (in memory for the embedded
 * mode, in Redis next to the campaign's admission keys for the distributed
 * one), because releasing a ticket IS an admission: the same decision, the
 * same durability, done atomically with taking the ticket off the line.
 *
 * The draw needs no step of its own: a ticket that joins before startsAt (by
 * the mode's one clock) is placed by its drawValue, HMAC-SHA256(seed, userId),
 * so at startsAt the pre-queue already stands in draw order; later tickets
 * stand behind it in arrival order.
 */
import type { Ticket } from "../domain/types.ts";
import type { NotActiveReason } from "./admission.ts";

/**
 * A ticket with its place in line, as the read routes show it. A pre-queued
 * ticket's drawValue is in it from startsAt only (the seed is public then),
 * by the mode's one clock: the store decides, no other layer.
 */
export interface TicketView extends Ticket {
  /** 1-based among waiting tickets; null before startsAt (the draw has not ordered the pre-queue yet) or once not waiting. */
  position: number | null;
  /** Waiting tickets ahead of this one; null when position is. */
  ahead: number | null;
}

export type JoinOutcome =
  /** A new ticket (202). */
  | { kind: "joined"; ticket: TicketView }
  /** The user's ticket already (200). */
  | { kind: "existing"; ticket: TicketView }
  /** Before startsAt - prequeueSeconds (reason not_started), or ended / closed / paused. */
  | { kind: "not_active"; reason: NotActiveReason }
  | { kind: "rate_limited"; retryAfterSec: number }
  /** From startsAt, a line no unit can come to any more (as its tickets read): 410. */
  | { kind: "sold_out" }
  /** No such campaign, or one without a waiting room. */
  | { kind: "campaign_not_found" }
  | { kind: "no_waiting_room" };

export interface ReleaseResult {
  /** Tickets admitted by this call, with their claimIds, in line order. */
  admitted: Ticket[];
  /** True once no unit can become free any more: every waiting ticket now reads sold_out. */
  soldOut: boolean;
}

export interface LineStats {
  waiting: number;
  prequeued: number;
  admitted: number;
  soldOut: boolean;
}

/** A user asking to join a campaign's waiting room (clientIp: for the rate limit). */
export interface JoinRequest {
  campaignId: string;
  userId: string;
  clientIp?: string | undefined;
}

export interface WaitingRoomStore {
  join(request: JoinRequest): Promise<JoinOutcome>;
  ticket(campaignId: string, ticketId: string): Promise<TicketView | undefined>;
  /**
   * Admits up to `max` tickets from the head of the line, each exactly as a
   * claim would be (per-user limit, holds, durability), and marks the line
   * sold out when no unit can become free any more. With releasePerSecond,
   * the store keeps the rate itself (a token bucket with a short burst),
   * whoever calls and however often: several releasers may call at once.
   * The releaser (a PeriodicTask in every process that runs workers) calls it.
   */
  release(campaignId: string, max: number): Promise<ReleaseResult>;
  stats(campaignId: string): Promise<LineStats | undefined>;
  /** The pre-queue's drawValues in draw order, a page at a time (a million fit in bounded memory). */
  drawOrder(campaignId: string): AsyncIterable<readonly string[]>;
}
