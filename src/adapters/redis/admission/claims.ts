/**
 * Reading claims and counters from Redis, and marking claims issued (the
 * workers, once the ledger holds them). A pending claim is read in full from
 * the campaign's claims hash; an issued one has left it, and the ledger
 * holds it.
 */

import type { CampaignCounters, Claim } from "../../../domain/types.ts";
import { unpackClaim } from "../claim-codec.ts";
import { MARK_ISSUED } from "./codes.ts";
import type { AdmissionContext } from "./context.ts";

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
  const k = ctx.keys.campaign(campaignId);
  const held = await ctx.redis.hget(k.holders, userId);
  if (held === null) return [];
  const ids = held.split(",").map((entry) => entry.split(":")[0]!);
  const packed = await ctx.redis.hmget(k.claims, ...ids);
  if (packed.every((p) => p !== null)) return packed.map((p) => unpackClaim(p!));
  // Some are issued: the ledger has them in full.
  const issued = new Map((await ctx.ledger.userClaims(campaignId, userId)).map((c) => [c.claimId, c]));
  const out: Claim[] = [];
  ids.forEach((id, i) => {
    const p = packed[i];
    const claim = p ? unpackClaim(p) : issued.get(id);
    if (claim) out.push(claim);
  });
  return out.sort((a, b) => a.seq - b.seq);
}

export async function counters(
  ctx: AdmissionContext,
  campaignId: string,
): Promise<CampaignCounters | undefined> {
  const k = ctx.keys.campaign(campaignId);
  let [status, admitted, issued] = await ctx.redis.hmget(k.state, "status", "admitted", "issued");
  if (status === null || status === "rebuilding") {
    const ready = await ctx.loader.ready(campaignId);
    if (ready === "retired") {
      const issuedInLedger = await ctx.ledger.issuedCount(campaignId);
      return { admitted: issuedInLedger, issued: issuedInLedger, held: 0 };
    }
    if (ready !== "ready") return undefined;
    [status, admitted, issued] = await ctx.redis.hmget(k.state, "status", "admitted", "issued");
  }
  if (status === null) return undefined;
  return { admitted: Number(admitted), issued: Number(issued), held: 0 };
}

export async function markIssued(ctx: AdmissionContext, claims: readonly Claim[]): Promise<void> {
  const byCampaign = new Map<string, string[]>();
  for (const claim of claims) {
    const ids = byCampaign.get(claim.campaignId);
    if (ids) ids.push(claim.claimId);
    else byCampaign.set(claim.campaignId, [claim.claimId]);
  }
  await Promise.all(
    [...byCampaign].map(async ([campaignId, ids]) => {
      const k = ctx.keys.campaign(campaignId);
      const [code] = (await ctx.scripts.markIssued([k.state, k.claims], ids)) as number[];
      if (code === MARK_ISSUED.OK) return;
      // The rebuild waits until the workers consumed everything queued, then
      // counts the ledger, which holds these claims already (see AdmissionSink).
      if (ctx.sink.rebuildWaitsForWorkers) return;
      // The state is missing or being rebuilt: the batch is retried after the
      // rebuild, which counts what the ledger holds. A retired campaign has
      // nothing in Redis to count: the ledger holding the claims is all.
      if (
        code === MARK_ISSUED.NOT_FOUND &&
        (await ctx.loader.ensure(campaignId).catch(() => "timeout")) === "retired"
      )
        return;
      throw new Error(`campaign ${campaignId} is being rebuilt in Redis; the batch will be retried`);
    }),
  );
}
