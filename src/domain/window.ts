import type { NotActiveReason } from "../ports/admission.ts";
import { type Campaign, campaignStatus } from "./types.ts";

/**
 * Is the campaign taking claims at `now`? Shared by every admission store that
 * decides in JavaScript, in the Redis admission script's order: closed first
 * (closing also sets endsAt to the moment it closed; the reason should say it
 * was closed), then the window, then paused.
 */
export function windowState(campaign: Campaign, now: number): "open" | NotActiveReason {
  const status = campaignStatus(campaign);
  if (status === "closed") return "closed";
  if (campaign.startsAt !== null && now < campaign.startsAt) return "not_started";
  if (campaign.endsAt !== null && now >= campaign.endsAt) return "ended";
  return status === "paused" ? "paused" : "open";
}
