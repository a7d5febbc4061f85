import { sliceState, sliceUnits } from "../../../domain/shards.ts";
import type { Campaign, Claim } from "../../../domain/types.ts";
import { shardOfClaim } from "../keys.ts";
import { planRebuild, type RebuildPlan } from "./rebuild-plan.ts";

/** One shard's state as a rebuild of a campaign over shards writes it. */
export interface ShardPlan {
  plan: RebuildPlan;
  /** The shard's slice: its admitted claims plus the free units it is given. */
  stock: number;
  /** Its counter (units next+1.. are fresh) and its list of free units. */
  next: number;
  free: number[];
}

/**
 * A campaign over shards rebuilt from the ledger (the truth) and what its
 * shards' streams still hold (rebuild.ts): each shard keeps its own claims
 * (a claim id's tag names its shard), and the units no claim holds are
 * split over the shards afresh, each slice a counter where it can be
 * (sliceState). Units in transit before the loss are simply free again:
 * every transfer record of the old epoch is dropped, and a take of one is
 * refused by epoch (shard-take-3.lua), so none counts twice.
 */
export function planShards(input: {
  campaign: Campaign;
  shards: number;
  queued: readonly Claim[];
  live: readonly Claim[];
}): ShardPlan[] {
  const { campaign, shards } = input;
  const byShard = <T extends Claim>(claims: readonly T[]) => {
    const out: T[][] = Array.from({ length: shards }, () => []);
    for (const c of claims) out[shardOfClaim(campaign.id, c.claimId) % shards]!.push(c);
    return out;
  };
  const queued = byShard(input.queued);
  const live = byShard(input.live);
  const plans = Array.from({ length: shards }, (_, s) =>
    planRebuild({ stock: campaign.stock, queued: queued[s]!, live: live[s]!, ended: [] }),
  );
  const used = new Set(input.live.map((c) => c.unit));
  for (const plan of plans) for (const c of plan.claims) if (c.status === "pending") used.add(c.unit);
  const free: number[] = [];
  for (let unit = 1; unit <= campaign.stock; unit++) if (!used.has(unit)) free.push(unit);
  const slices = sliceUnits(free, shards);
  return plans.map((plan, s) => ({
    plan,
    stock: plan.admitted + slices[s]!.length,
    ...sliceState(slices[s]!),
  }));
}

/** The definition fields a shard's state adds: its place, the campaign's stock beside its slice. */
export function shardFields(campaign: Campaign, shards: number, shard: number): (string | number)[] {
  return ["shards", shards, "shard", shard, "campaignStock", campaign.stock, "soldOut", "0", "moves", 0];
}
