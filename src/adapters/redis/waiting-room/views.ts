import { createHmac } from "node:crypto";
import type { Campaign, Ticket } from "../../../domain/types.ts";
import type { TicketView } from "../../../ports/waiting-room.ts";
import { TICKET_STATUS } from "./codes.ts";
import { TicketIds } from "./ticket-ids.ts";

/** Hex HMAC-SHA256(key = the seed's 32 bytes, message = the UTF-8 userId): docs/api.md "The draw". */
export function drawValue(seedHex: string, userId: string): string {
  return createHmac("sha256", Buffer.from(seedHex, "hex")).update(userId, "utf8").digest("hex");
}

/** A script's ticket view: status, position (-1 none), prequeued, userId, joinedAt, claimId, now. */
export type ViewReply = [string, number, number, string, number, string, number];

/**
 * A ticket as the read routes show it, from a script's view (includes/room.lua). The drawValue is
 * shown for a pre-queued ticket once the seed is revealed, at startsAt by the script's clock.
 */
export function ticketView(campaign: Campaign, id: string, reply: ViewReply): TicketView {
  const [letter, position, prequeued, userId, joinedAt, claimId, now] = reply;
  const ticket: TicketView = {
    ticketId: TicketIds.full(campaign.id, id),
    campaignId: campaign.id,
    userId: String(userId),
    status: TICKET_STATUS[letter as keyof typeof TICKET_STATUS],
    joinedAt: Number(joinedAt),
    prequeued: prequeued === 1,
    position: position >= 1 ? position : null,
    ahead: position >= 1 ? position - 1 : null,
  };
  const drawn = revealedDrawValue(campaign, ticket, Number(now));
  if (drawn) ticket.drawValue = drawn;
  if (claimId) ticket.claimId = String(claimId);
  return ticket;
}

/** A pre-queued ticket's drawValue from startsAt on (`now` by the mode's one clock), else undefined. */
export function revealedDrawValue(
  campaign: Campaign,
  ticket: Pick<Ticket, "prequeued" | "userId">,
  now: number,
): string | undefined {
  const seed = campaign.waitingRoom?.seed;
  if (!seed || !ticket.prequeued || campaign.startsAt === null || now < campaign.startsAt) return undefined;
  return drawValue(seed, ticket.userId);
}
