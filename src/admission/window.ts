import { type Campaign, campaignStatus } from "../domain/types.ts";
import type { NotActiveReason } from "./types.ts";

/**
 * Is the campaign taking claims at `now`? Shared by every admission store that
 * decides in JavaScript. The window is checked before the status, as the Redis
 * admission script does, so every mode names the same reason.
 */
export function windowState(campaign: Campaign, now: number): "open" | NotActiveReason {
  if (campaign.startsAt !== null && now < campaign.startsAt) return "not_started";
  if (campaign.endsAt !== null && now >= campaign.endsAt) return "ended";
  const status = campaignStatus(campaign);
  return status === "open" ? "open" : status;
}
