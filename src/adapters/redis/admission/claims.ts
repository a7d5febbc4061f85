/**
 * Reading claims and counters from Redis, and telling it what the ledger now
 * holds (the workers, after each batch). A claim is read in full from the
 * campaign's claims hash until the ledger holds its final status (issued,
 * expired, released: with holds, a held or confirmed claim stays, and so
 * does an ended one until the ledger has its end); then it has left it, and
 * the ledger holds it.
 */

import { shardOfUser } from "../../../domain/shards.ts";
import type { CampaignCounters, Claim } from "../../../domain/types.ts";
import { unpackClaim } from "../claim-codec.ts";
import { claimRef, parseRef, shardRef } from "../keys.ts";
import { MARK_WRITTEN } from "./codes.ts";
import type { AdmissionContext } from "./context.ts";
import { shardedCounters } from "./shards.ts";

export async function getClaim(ctx: AdmissionContext, claimId: string): Promise<Claim | undefined> {
  const key = ctx.keys.claimsOf(claimId);
  if (!key) return undefined;
  const packed = await ctx.redis.hget(key, claimId);
  return packed === null ? undefined : unpackClaim(packed);
}

export async function userClaims(
  ctx: AdmissionContext,
  campaignId: string,
  userId: string,
): Promise<Claim[]> {
  const k = ctx.keys.campaign(await userRef(ctx, campaignId, userId));
  const held = await ctx.redis.hget(k.holders, userId);
  if (held === null) return [];
  const ids = held.split(",").map((entry) => entry.split(":")[0]!);
  const packed = await ctx.redis.hmget(k.claims, ...ids);
  // With holds, the user's ended holds are theirs too: only the ledger lists them.
  const holds = Boolean((await ctx.definitions.get(campaignId))?.holdSeconds);
  if (!holds && packed.every((p) => p !== null)) return packed.map((p) => unpackClaim(p!));
  // Some are issued (or ended): the ledger has them in full.
  const inLedger = new Map((await ctx.ledger.userClaims(campaignId, userId)).map((c) => [c.claimId, c]));
  const out: Claim[] = [];
  ids.forEach((id, i) => {
    const p = packed[i];
    const claim = p ? unpackClaim(p) : inLedger.get(id);
    if (claim) out.push(claim);
    inLedger.delete(id);
  });
  if (holds) out.push(...inLedger.values());
  return out.sort((a, b) => a.seq - b.seq || a.admittedAt - b.admittedAt);
}

export async function counters(
  ctx: AdmissionContext,
  campaignId: string,
): Promise<CampaignCounters | undefined> {
  const shards = (await ctx.definitions.get(campaignId))?.shards ?? 1;
  if (shards > 1) {
    const summed = await shardedCounters(ctx, campaignId, shards);
    if (summed) return summed;
    const ready = await ctx.loader.ready(campaignId);
    if (ready === "retired") return retiredCounters(ctx, campaignId);
    return ready === "ready" ? shardedCounters(ctx, campaignId, shards) : undefined;
  }
  const k = ctx.keys.campaign(campaignId);
  let [status, admitted, issued, held] = await ctx.redis.hmget(
    k.state,
    "status",
    "admitted",
    "issued",
    "held",
  );
  if (status === null || status === "rebuilding") {
    const ready = await ctx.loader.ready(campaignId);
    if (ready === "retired") return retiredCounters(ctx, campaignId);
    if (ready !== "ready") return undefined;
    [status, admitted, issued, held] = await ctx.redis.hmget(k.state, "status", "admitted", "issued", "held");
  }
  if (status === null) return undefined;
  return { admitted: Number(admitted), issued: Number(issued), held: Number(held ?? 0) };
}

/** A retired campaign's counters: the ledger's (nothing is pending once it retired). */
async function retiredCounters(ctx: AdmissionContext, campaignId: string): Promise<CampaignCounters> {
  const issued = await ctx.ledger.issuedCount(campaignId);
  return { admitted: issued, issued, held: 0 };
}

/**
 * The ledger now holds these claims with these statuses (mark-written-3.lua):
 * held ones count as held, issued and ended ones leave the claims hash. One
 * script call per campaign of the batch.
 */
export async function markWritten(ctx: AdmissionContext, claims: readonly Claim[]): Promise<void> {
  // By slot: a campaign over shards has one state per shard, named by the claim id's tag.
  const bySlot = new Map<string, string[]>();
  for (const claim of claims) {
    if (claim.status === "pending") continue;
    const ref = claimRef(claim.campaignId, claim.claimId);
    const args = bySlot.get(ref);
    if (args) args.push(claim.claimId, claim.status);
    else bySlot.set(ref, [claim.claimId, claim.status]);
  }
  await Promise.all(
    [...bySlot].map(async ([ref, args]) => {
      const campaignId = parseRef(ref).campaignId;
      const k = ctx.keys.campaign(ref);
      const [code, , , , refused] = (await ctx.scripts.markWritten(
        [k.state, k.claims, k.expiries],
        args,
      )) as number[];
      if (code === MARK_WRITTEN.OK) {
        if (refused)
          ctx.logger.warn(
            { campaignId, refused },
            "the ledger holds claims in a status admission did not decide; admission keeps its own",
          );
        return;
      }
      // The rebuild waits until the workers consumed everything queued, then
      // counts the ledger, which holds these claims already (see AdmissionSink).
      if (ctx.sink.rebuildWaitsForWorkers) return;
      // The state is missing or being rebuilt: the batch is retried after the
      // rebuild, which counts what the ledger holds. A retired campaign has
      // nothing in Redis to count: the ledger holding the claims is all.
      if (
        code === MARK_WRITTEN.NOT_FOUND &&
        (await ctx.loader.ensure(campaignId).catch(() => "timeout")) === "retired"
      )
        return;
      throw new Error(`campaign ${campaignId} is being rebuilt in Redis; the batch will be retried`);
    }),
  );
}

/** The slot a user's claims of a campaign live in: the campaign's, or the user's shard's. */
export async function userRef(ctx: AdmissionContext, campaignId: string, userId: string): Promise<string> {
  const shards = (await ctx.definitions.get(campaignId))?.shards ?? 1;
  return shards > 1 ? shardRef(campaignId, shardOfUser(userId, shards)) : campaignId;
}
