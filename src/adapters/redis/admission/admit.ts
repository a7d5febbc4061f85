import { StampedeError } from "../../../domain/errors.ts";
import { newClaimId, newCouponCode } from "../../../domain/ids.ts";
import { retryAfterSeconds } from "../../../domain/rate-policy.ts";
import { shardOfUser } from "../../../domain/shards.ts";
import type { Claim } from "../../../domain/types.ts";
import type { AdmitOutcome, AdmitRequest, NotActiveReason } from "../../../ports/admission.ts";
import { unpackClaim } from "../claim-codec.ts";
import { refTag, shardRef } from "../keys.ts";
import { ADMIT, CLAIM_PLACE } from "./codes.ts";
import type { AdmissionContext } from "./context.ts";
import type { Lesson } from "./memory-answers.ts";
import { REFILL_WAIT_MS, refill } from "./shards.ts";
import { beingRebuilt, redisDidNotAnswer, unavailableOnFailure } from "./unavailable.ts";

/**
 * The admission decision: one atomic script call (admit-9.lua) applies the
 * rate limits, decides, reserves and queues; this runs it, loads the
 * campaign's state first when it is missing, turns its reply into the port's
 * outcome and teaches the reply to what this process answers from memory. A
 * keyless request this process can answer from memory (memory-answers.ts)
 * makes no Redis call at all.
 */
export async function admit(ctx: AdmissionContext, request: AdmitRequest): Promise<AdmitOutcome> {
  let memorized = known(ctx, request);
  if (memorized) return memorized;
  const { campaignId, userId } = request;
  // A campaign over shards decides in the user's shard: its keys, its memory answers (shards.ts).
  // The count is what this process learned, without a read: a wrong guess (1, before it learned
  // it) is answered WRONG_SHARDS with the count, and nothing is decided.
  const route = routeOf(campaignId, userId, ctx.definitions.shards(campaignId) ?? 1);
  const loading = request.idempotencyKey === undefined ? ctx.memory.loading(route.ref) : undefined;
  if (loading) {
    await loading;
    memorized = known(ctx, request);
    if (memorized) return memorized;
  }
  let sentAt = performance.now();
  const send = async (): Promise<Reply> => {
    sentAt = performance.now();
    const reply = await runAdmit(ctx, request, route);
    if (reply[0] !== ADMIT.WRONG_SHARDS) return reply;
    Object.assign(route, routeOf(campaignId, userId, Number(reply[2])));
    ctx.definitions.learnShards(campaignId, route.shards);
    sentAt = performance.now();
    return runAdmit(ctx, request, route);
  };
  let reply = await send();
  if (reply[0] === ADMIT.NOT_FOUND || reply[0] === ADMIT.REBUILDING) {
    const ready = await ctx.loader.ready(campaignId);
    if (ready === "unknown") return { kind: "campaign_not_found" };
    if (ready === "retired") return retiredOutcome(ctx, campaignId, userId);
    if (ready === "timeout") throw beingRebuilt();
    reply = await send();
  }
  // The user's shard ran out of its slice (a 410 without a lease): stock comes from the other
  // shards first, and only a campaign sold out everywhere is answered 410 (then with a lease).
  // Bounded by time, not tries: near the end many claims share each small refill and lose the race.
  const until = performance.now() + REFILL_WAIT_MS;
  while (route.shards > 1 && isSliceOut(reply)) {
    if (performance.now() > until)
      throw new StampedeError("unavailable", "Stock is moving between the campaign's shards; retry.", {
        retryAfter: 1,
      });
    await unavailableOnFailure(refill(ctx, campaignId, route.shards, route.shard));
    reply = await send();
  }
  const { ref } = route;
  const outcome = outcomeOf(ctx, { campaignId, ref }, userId, reply, sentAt);
  if (
    (reply[0] === ADMIT.ADMITTED || reply[0] === ADMIT.ALREADY_CLAIMED) &&
    reply[6] === CLAIM_PLACE.IN_LEDGER &&
    (outcome.kind === "admitted" || outcome.kind === "already_claimed")
  ) {
    // A replay naming a hold that has left Redis: the ledger holds how it ended.
    const claim = await unavailableOnFailure(
      ctx.ledger.findClaim(outcome.claim.claimId),
      "The ledger did not answer.",
    );
    if (claim) return { ...outcome, claim };
  }
  return outcome;
}

/** Where a user's claim of a campaign is decided: the campaign's slot, or the user's shard's. */
interface Route {
  shards: number;
  shard: number;
  ref: string;
}

function routeOf(campaignId: string, userId: string, shards: number): Route {
  const shard = shardOfUser(userId, shards);
  return { shards, shard, ref: shards > 1 ? shardRef(campaignId, shard) : campaignId };
}

/** A shard's own 410 (no lease, not a replay): its slice ran out; the campaign may not have. */
function isSliceOut(reply: Reply): boolean {
  return reply[0] === ADMIT.SOLD_OUT && reply[1] !== 1 && reply[2] === "";
}

/** Most due holds admit-9.lua expires before it decides (the workers' reapers do the rest). */
export const ADMIT_REAP_LIMIT = 32;

/** The answer from memory for a keyless request, or undefined (keyed requests always go to Redis). */
export function known(ctx: AdmissionContext, request: AdmitRequest): AdmitOutcome | undefined {
  if (request.idempotencyKey !== undefined) return undefined;
  const { campaignId, userId } = request;
  const shards = ctx.definitions.shards(campaignId) ?? 1;
  const ref = shards > 1 ? shardRef(campaignId, shardOfUser(userId, shards)) : campaignId;
  const answer = ctx.memory.lookup(ref, userId, Date.now());
  switch (answer?.kind) {
    case undefined:
      return undefined;
    case "sold_out":
      return SOLD_OUT;
    case "not_active":
      return { kind: "not_active", reason: answer.reason, replayed: false };
    case "holder":
      return {
        kind: "already_claimed",
        claim: issuedClaim(campaignId, userId, answer.holder),
        replayed: false,
      };
  }
}

const SOLD_OUT: AdmitOutcome = Object.freeze({ kind: "sold_out", replayed: false });

type Reply = (string | number)[];

/** One admit-9.lua call in `ref`'s slot: the campaign's, or the user's shard's. */
async function runAdmit(
  ctx: AdmissionContext,
  request: AdmitRequest,
  { ref, shards }: Route,
): Promise<Reply> {
  const { campaignId, userId, idempotencyKey: key } = request;
  const k = ctx.keys.campaign(ref);
  const { rateUser, rateIp } = ctx;
  try {
    return (await ctx.scripts.admit(
      [
        k.state,
        k.holders,
        k.claims,
        ctx.sink.key(k),
        k.free,
        key === undefined ? k.noIdempotency : k.idempotency(userId, key),
        rateUser ? k.rateUser(userId) : k.noIdempotency,
        rateIp ? k.rateIp(request.clientIp ?? "") : k.noIdempotency,
        k.expiries,
      ],
      [
        campaignId,
        userId,
        refTag(ref) + newClaimId(),
        newCouponCode(),
        key ?? "",
        ctx.idempotencyTtlSec,
        ctx.sink.mode,
        ctx.sink.cap,
        rateUser ? rateUser.intervalMs : "",
        rateUser ? rateUser.burst : "",
        rateIp ? rateIp.intervalMs : "",
        rateIp ? rateIp.burst : "",
        ctx.events.channel,
        ADMIT_REAP_LIMIT,
        shards,
      ],
    )) as Reply;
  } catch (error) {
    throw redisDidNotAnswer(error);
  }
}

function outcomeOf(
  ctx: AdmissionContext,
  { campaignId, ref }: { campaignId: string; ref: string },
  userId: string,
  reply: Reply,
  sentAt: number,
): AdmitOutcome {
  const replayed = reply[1] === 1;
  const lease = String(reply[2] ?? "");
  // A replayed answer is about the first request, not about now: nothing to learn.
  const learn = (lesson: Lesson) => {
    if (!replayed) ctx.memory.learn(ref, userId, lease, sentAt, lesson);
  };
  switch (reply[0]) {
    case ADMIT.ADMITTED:
    case ADMIT.ALREADY_CLAIMED: {
      const [code, , , claimId, admittedAt, seq, pending, packed, atLimit] = reply;
      const claim =
        pending === CLAIM_PLACE.IN_REDIS
          ? unpackClaim(String(packed))
          : issuedClaim(campaignId, userId, {
              claimId: String(claimId),
              admittedAt: Number(admittedAt),
              seq: Number(seq),
            });
      const admitted = code === ADMIT.ADMITTED;
      // A holder is worth remembering once its claim is issued (a 409 from memory must not show a
      // stale "pending"); until then a repeat asks Redis, which also says when it is issued. With
      // holds, the script says atLimit only once every claim of the user is issued (a live hold may
      // still end and free the user's slot).
      if (atLimit === 1 && pending === CLAIM_PLACE.ISSUED)
        learn({ kind: "holder", ref: `${claimId}:${admittedAt}:${seq}`, admitted });
      else learn({ kind: admitted ? "admitted" : "none" });
      return admitted ? { kind: "admitted", claim, replayed } : { kind: "already_claimed", claim, replayed };
    }
    case ADMIT.NOT_ACTIVE:
      learn({ kind: "refused" });
      return { kind: "not_active", reason: reply[3] as NotActiveReason, replayed };
    case ADMIT.SOLD_OUT:
      learn({ kind: "refused" });
      return replayed ? { kind: "sold_out", replayed } : SOLD_OUT;
    case ADMIT.RATE_LIMITED:
      learn({ kind: "none" });
      return { kind: "rate_limited", retryAfterSec: retryAfterSeconds(Number(reply[3])) };
    case ADMIT.SINK_FULL:
      learn({ kind: "none" });
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
