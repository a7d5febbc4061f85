import { setTimeout as sleep } from "node:timers/promises";
import { sliceState, sliceUnits } from "../../../domain/shards.ts";
import type { Campaign, Claim } from "../../../domain/types.ts";
import { packClaim } from "../claim-codec.ts";
import { shardOfClaim, shardRef } from "../keys.ts";
import type { Scripts } from "../scripts.ts";
import type { RebuildOptions, RebuildResult } from "./rebuild.ts";
import { planRebuild, type RebuildPlan } from "./rebuild-plan.ts";

/** What a rebuild writes into one slot (rebuild-load, in fenced chunks). */
export interface LoadParts {
  holders: [string, string][];
  claims: [string, string][];
  drop: string[];
  free: number[];
  expiries: [number, string][];
  idempotency: Claim[];
}

/** The Rebuilder's steps a rebuild over shards reuses (rebuild.ts). */
export interface ShardRebuildSteps {
  options: RebuildOptions;
  scripts: Scripts;
  /** The definition fields of the campaign's state (rebuild.ts definitionFields). */
  definition: (campaign: Campaign) => (string | number)[];
  /** Entries of the campaign in a claims hash that the rebuild does not keep. */
  stale: (claimsKey: string, campaignId: string, keep: Set<string>) => Promise<string[]>;
  /** Writes the parts into a ref's slot; false when a newer epoch owns the rebuild. */
  load: (ref: string, epoch: number, parts: LoadParts) => Promise<boolean>;
}

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

/**
 * A campaign over shards, rebuilt as a whole at one epoch (planShards): every shard is
 * marked rebuilding (and its transfer records dropped) before anything is read, so no shard
 * admits or moves units while the others are recounted; shard 0 opens last.
 */
export async function rebuildShards(
  steps: ShardRebuildSteps,
  campaign: Campaign,
  epoch: number,
  started: number,
): Promise<RebuildResult> {
  const { redis, keys, logger } = steps.options;
  const shards = campaign.shards ?? 1;
  const refs = Array.from({ length: shards }, (_, i) => shardRef(campaign.id, i));
  for (const [shard, ref] of refs.entries()) {
    const k = keys.campaign(ref);
    const fields = [...steps.definition(campaign), ...shardFields(campaign, shards, shard)];
    if (
      (await steps.scripts.rebuildBegin([k.state, k.holders, k.free, k.expiries], [epoch, ...fields])) !== 1
    )
      return "superseded";
    await redis.del(k.transfers, k.received);
  }
  const markedAt = performance.now();
  const queued: Claim[] = [];
  for (const ref of refs)
    for await (const claim of steps.options.queuedClaims(ref, { epoch }))
      if (claim.campaignId === campaign.id) queued.push(claim);
  const live: Claim[] = [];
  for await (const claim of steps.options.ledger.campaignClaims(campaign.id)) live.push(claim);
  const plans = planShards({ campaign, shards, queued, live });
  for (const [shard, { plan, free }] of plans.entries()) {
    const k = keys.campaign(refs[shard]!);
    const keep = new Set(plan.claims.map((c) => c.claimId));
    const parts = {
      holders: plan.holders,
      claims: plan.claims.map((c) => [c.claimId, packClaim(c)] as [string, string]),
      drop: await steps.stale(k.claims, campaign.id, keep),
      free,
      expiries: [],
      idempotency: plan.idempotency,
    };
    if (!(await steps.load(refs[shard]!, epoch, parts))) return "superseded";
  }
  const wait = epoch === 1 ? 0 : steps.options.cacheLeaseMs + 100 - (performance.now() - markedAt);
  if (wait > 0) await sleep(wait);
  const status = campaign.status ?? "open";
  for (let shard = shards - 1; shard >= 0; shard--) {
    const { plan, next, stock } = plans[shard]!;
    const counters = [plan.admitted, plan.issued, next, status, 0, 0, stock];
    const k = keys.campaign(refs[shard]!);
    if ((await steps.scripts.rebuildOpen([k.state], [epoch, ...counters])) !== 1) return "superseded";
  }
  await redis.sadd(keys.registry, campaign.id, ...refs.slice(1));
  await redis.sadd(keys.shardedRegistry, campaign.id);
  const admitted = plans.reduce((n, p) => n + p.plan.admitted, 0);
  const ms = Math.round(performance.now() - started);
  logger.info(
    { campaignId: campaign.id, epoch, shards, admitted, ms },
    "campaign over shards rebuilt in Redis",
  );
  return "rebuilt";
}
