import { type Campaign, type CampaignCounters, type Claim, campaignStatus } from "../domain/types.ts";

/** Domain objects to the contract's JSON bodies (epoch ms -> RFC3339). */
const iso = (ms: number) => new Date(ms).toISOString();
const isoOrNull = (ms: number | null) => (ms === null ? null : iso(ms));

export function campaignBody(campaign: Campaign, counters: CampaignCounters, now: number) {
  const pending = counters.admitted - counters.issued;
  return {
    id: campaign.id,
    name: campaign.name,
    stock: campaign.stock,
    perUserLimit: campaign.perUserLimit,
    startsAt: isoOrNull(campaign.startsAt),
    endsAt: isoOrNull(campaign.endsAt),
    createdAt: iso(campaign.createdAt),
    status: campaignStatus(campaign),
    issued: counters.issued,
    pending,
    remaining: campaign.stock - counters.admitted,
    serverTime: iso(now),
  };
}

export function claimBody(claim: Claim) {
  const body: Record<string, string> = {
    claimId: claim.claimId,
    campaignId: claim.campaignId,
    userId: claim.userId,
    status: claim.status,
    admittedAt: iso(claim.admittedAt),
  };
  if (claim.status === "issued") {
    body.couponCode = claim.couponCode;
    if (claim.issuedAt !== undefined) body.issuedAt = iso(claim.issuedAt);
  }
  return body;
}
