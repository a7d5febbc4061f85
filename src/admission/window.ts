import type { Campaign } from "../domain/types.ts";
import type { NotActiveReason } from "./types.ts";

/** Is the campaign taking claims at `now`? Shared by every admission store that decides in JavaScript. */
export function windowState(campaign: Campaign, now: number): "open" | NotActiveReason {
  if (campaign.startsAt !== null && now < campaign.startsAt) return "not_started";
  if (campaign.endsAt !== null && now >= campaign.endsAt) return "ended";
  return "open";
}
