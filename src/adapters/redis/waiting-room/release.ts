import { newClaimId, newCouponCode } from "../../../domain/ids.ts";
import type { Campaign, Claim, Ticket } from "../../../domain/types.ts";
import type { ReleaseResult } from "../../../ports/waiting-room.ts";
import { ADMIT_REAP_LIMIT } from "../admission/admit.ts";
import type { AdmissionContext } from "../admission/context.ts";
import { unpackClaim } from "../claim-codec.ts";
import { campaignTag } from "../keys.ts";
import { ROOM } from "./codes.ts";
import { TicketIds } from "./ticket-ids.ts";
import { revealedDrawValue } from "./views.ts";

/** What one release tick did, with what Kafka mode forwards: the claims it admitted, the holds it expired. */
export interface ReleaseReport extends ReleaseResult {
  /** Claims admitted by this tick (pending, packed by the script): what the sink now holds. */
  claims: Claim[];
  /** Holds the tick expired first (as admit-9 does): their snapshots are in the sink too. */
  expired: Claim[];
  /** Tickets released so far, this tick's included. */
  served: number;
  /** Tickets still in the line behind them. */
  waiting: number;
  /** Units free after this tick (with holds, more may come back). */
  free: number;
  /** The state is missing, being rebuilt, or has no waiting room: nothing was done. */
  skipped?: "not_found" | "rebuilding" | "no_room";
}

export interface ReleaseSettings {
  /** The budget's burst: at most this many ms of releasePerSecond at once (room-release-8's ARGV[8]). */
  burstMs: number;
}

/** One release tick of one campaign (room-release-8.lua): up to `max` tickets from the head. */
export async function releaseTick(
  ctx: AdmissionContext,
  roomChannel: string,
  campaign: Campaign,
  max: number,
  settings: ReleaseSettings,
): Promise<ReleaseReport> {
  const k = ctx.keys.campaign(campaign.id);
  const tag = campaignTag(campaign.id);
  const claimIds: string[] = [];
  const coupons: string[] = [];
  for (let i = 0; i < max; i++) {
    claimIds.push(tag + newClaimId());
    coupons.push(newCouponCode());
  }
  const reply = (await ctx.scripts.roomRelease(
    [k.state, k.holders, k.claims, ctx.sink.key(k), k.free, k.expiries, k.line, k.tickets],
    [
      campaign.id,
      max,
      ctx.sink.mode,
      ctx.sink.cap,
      ctx.events.channel,
      roomChannel,
      ADMIT_REAP_LIMIT,
      settings.burstMs,
      ...claimIds,
      ...coupons,
    ],
  )) as (string | number)[];
  const empty = { admitted: [], soldOut: false, claims: [], expired: [], served: 0, waiting: 0, free: 0 };
  switch (reply[0]) {
    case ROOM.NOT_FOUND:
      return { ...empty, skipped: "not_found" };
    case ROOM.REBUILDING:
      return { ...empty, skipped: "rebuilding" };
    case ROOM.NO_ROOM:
      return { ...empty, skipped: "no_room" };
  }
  const [, soldOut, served, released, expiredCount, waiting, free] = reply
    .slice(0, 7)
    .map(Number) as number[];
  const admitted: Ticket[] = [];
  const claims: Claim[] = [];
  let i = 7;
  const now = Date.now();
  for (let r = 0; r < released!; r++, i += 7) {
    const [id, code, claimId, packed, userId, joinedAt, prequeued] = reply.slice(i, i + 7);
    const ticket: Ticket = {
      ticketId: TicketIds.full(campaign.id, String(id)),
      campaignId: campaign.id,
      userId: String(userId),
      status: "admitted",
      joinedAt: Number(joinedAt),
      prequeued: Number(prequeued) === 1,
      claimId: String(claimId),
    };
    // Released means startsAt has come (by Redis TIME): the drawValue is public.
    const drawn = revealedDrawValue(campaign, ticket, Math.max(now, campaign.startsAt ?? 0));
    if (drawn) ticket.drawValue = drawn;
    admitted.push(ticket);
    if (Number(code) === 1 && packed) claims.push(unpackClaim(String(packed)));
  }
  const expired = reply.slice(i, i + expiredCount!).map((p) => unpackClaim(String(p)));
  return {
    admitted,
    soldOut: soldOut === 1,
    claims,
    expired,
    served: served!,
    waiting: waiting!,
    free: free!,
  };
}
