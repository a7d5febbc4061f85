import { StampedeError } from "../../../domain/errors.ts";
import { newClaimId, newCouponCode } from "../../../domain/ids.ts";
import type { Claim } from "../../../domain/types.ts";
import type { AdmitOutcome, AdmitRequest, NotActiveReason } from "../../../ports/admission.ts";
import { unpackClaim } from "../claim-codec.ts";
import { campaignTag } from "../keys.ts";
import { ADMIT } from "./codes.ts";
import type { AdmissionContext } from "./context.ts";
import { beingRebuilt, redisDidNotAnswer } from "./unavailable.ts";

/**
 * The admission decision: one atomic script call (admit-6.lua) decides,
 * reserves and queues; this runs it, loads the campaign's state first when it
 * is missing, and turns its reply into the port's outcome. A keyless request
 * for a campaign this process knows to be sold out is answered from memory
 * (sold-out-cache.ts).
 */
export async function admit(ctx: AdmissionContext, request: AdmitRequest): Promise<AdmitOutcome> {
  const { campaignId, userId, idempotencyKey } = request;
  if (idempotencyKey === undefined) {
    const cached = ctx.soldOut.lookup(campaignId, userId, Date.now());
    if (cached?.kind === "sold_out") return { kind: "sold_out", replayed: false };
    if (cached?.kind === "holder")
      return {
        kind: "already_claimed",
        claim: issuedClaim(campaignId, userId, cached.holder),
        replayed: false,
      };
  }
  let reply = await runAdmit(ctx, request);
  if (reply[0] === ADMIT.NOT_FOUND || reply[0] === ADMIT.REBUILDING) {
    const ready = await ctx.loader.ready(campaignId);
    if (ready === "unknown") return { kind: "campaign_not_found" };
    if (ready === "retired") return retiredOutcome(ctx, campaignId, userId);
    if (ready === "timeout") throw beingRebuilt();
    reply = await runAdmit(ctx, request);
  }
  return outcomeOf(ctx, campaignId, userId, reply);
}

type Reply = (string | number)[];

async function runAdmit(ctx: AdmissionContext, request: AdmitRequest): Promise<Reply> {
  const { campaignId, userId, idempotencyKey: key } = request;
  const k = ctx.keys.campaign(campaignId);
  try {
    return (await ctx.scripts.admit(
      [
        k.state,
        k.holders,
        k.claims,
        ctx.sink.key(k),
        k.free,
        key === undefined ? k.noIdempotency : k.idempotency(userId, key),
      ],
      [
        campaignId,
        userId,
        campaignTag(campaignId) + newClaimId(),
        newCouponCode(),
        key ?? "",
        ctx.idempotencyTtlSec,
        ctx.sink.mode,
        ctx.sink.cap,
      ],
    )) as Reply;
  } catch (error) {
    throw redisDidNotAnswer(error);
  }
}

function outcomeOf(ctx: AdmissionContext, campaignId: string, userId: string, reply: Reply): AdmitOutcome {
  const replayed = reply[1] === 1;
  switch (reply[0]) {
    case ADMIT.ADMITTED:
    case ADMIT.ALREADY_CLAIMED: {
      const [, , claimId, admittedAt, seq, pending, packed] = reply;
      const claim =
        pending === 1
          ? unpackClaim(String(packed))
          : issuedClaim(campaignId, userId, {
              claimId: String(claimId),
              admittedAt: Number(admittedAt),
              seq: Number(seq),
            });
      return reply[0] === ADMIT.ADMITTED
        ? { kind: "admitted", claim, replayed }
        : { kind: "already_claimed", claim, replayed };
    }
    case ADMIT.NOT_ACTIVE:
      return { kind: "not_active", reason: reply[2] as NotActiveReason, replayed };
    case ADMIT.SOLD_OUT:
      ctx.soldOut.soldOut(campaignId);
      return { kind: "sold_out", replayed };
    case ADMIT.SINK_FULL:
      throw new StampedeError("unavailable", "The claims queue is full; retry later.", { retryAfter: 1 });
    default:
      throw beingRebuilt();
  }
}

/**
 * An issued claim known by reference only (it has left Redis; the ledger
 * holds it in full): enough for a 409 or a replayed 202, which show neither
 * the unit nor the coupon code.
 */
function issuedClaim(
  campaignId: string,
  userId: string,
  ref: { claimId: string; admittedAt: number; seq: number },
): Claim {
  return { ...ref, campaignId, userId, unit: 0, couponCode: "", status: "issued" };
}

/**
 * A retired campaign (retention.ts) takes no claim: a holder still learns
 * their claim (409 comes first in the contract's order), from the ledger.
 */
async function retiredOutcome(
  ctx: AdmissionContext,
  campaignId: string,
  userId: string,
): Promise<AdmitOutcome> {
  const campaign = await ctx.ledger.getCampaign(campaignId);
  if (!campaign) return { kind: "campaign_not_found" };
  const held = await ctx.ledger.userClaims(campaignId, userId);
  if (held.length >= campaign.perUserLimit)
    return { kind: "already_claimed", claim: held.at(-1)!, replayed: false };
  return { kind: "not_active", reason: campaign.status === "closed" ? "closed" : "ended", replayed: false };
}
