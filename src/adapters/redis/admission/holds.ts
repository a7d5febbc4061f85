/**
 * Holds in Redis (docs/api.md "Holds"): confirm, release and reaping, each
 * one atomic script (confirm-6.lua, release-6.lua, reap-6.lua) that decides
 * by Redis TIME, the clock admission decides by, and appends its snapshot to
 * the campaign's sink (stream, or Kafka mode's outbox) in the same step: a
 * confirmation is then as durable as a 202 in this mode, and confirm and
 * expiry cannot both win.
 *
 * A claim is found by its id alone: the id's hash tag names the claims hash,
 * whose entry names the campaign (and so its keys). A claim that has left
 * Redis is final in the ledger (issued, expired or released), and answered
 * from there.
 */

import { StampedeError } from "../../../domain/errors.ts";
import type { Claim } from "../../../domain/types.ts";
import {
  finishedHoldOutcome,
  type HoldAction,
  type HoldOutcome,
  type ReapResult,
} from "../../../ports/admission.ts";
import { ClaimDecodeError, unpackClaim } from "../claim-codec.ts";
import { HOLD, REAP } from "./codes.ts";
import type { AdmissionContext } from "./context.ts";
import { beingRebuilt, redisDidNotAnswer, unavailableOnFailure } from "./unavailable.ts";

export type { HoldAction };

/** Most holds one reap-6.lua call expires (a pass calls again while it gets this many). */
export const REAP_BATCH = 500;

type Reply = (string | number)[];

/** A confirm or a release of one claim (the port's HoldOutcome). */
export async function settle(
  ctx: AdmissionContext,
  action: HoldAction,
  claimId: string,
): Promise<HoldOutcome> {
  const claimsKey = ctx.keys.claimsOf(claimId);
  if (!claimsKey) {
    // Not an id of this mode's: only the ledger may know it.
    const answer = await fromLedger(ctx, action, claimId);
    if (answer.kind !== "live") return answer;
    throw beingRebuilt();
  }
  // Twice at most: once more after the campaign's state was (re)loaded.
  for (let attempt = 0; attempt < 2; attempt++) {
    const packed = await ctx.redis.hget(claimsKey, claimId).catch((error: unknown) => {
      throw redisDidNotAnswer(error);
    });
    if (packed === null) {
      const answer = await fromLedger(ctx, action, claimId);
      if (answer.kind !== "live") return answer;
      // The ledger holds it live and Redis does not: Redis lost the campaign's state.
      if ((await ctx.loader.ready(answer.campaignId)) !== "ready") throw beingRebuilt();
      continue;
    }
    const campaignId = readable(packed).campaignId;
    const reply = await run(ctx, action, campaignId, claimId);
    switch (reply[0]) {
      case HOLD.CONFIRMED:
        return { kind: "confirmed", claim: readable(reply[2]), replayed: reply[1] === 1 };
      case HOLD.RELEASED:
        return { kind: "released", claim: readable(reply[2]), replayed: reply[1] === 1 };
      case HOLD.HOLD_EXPIRED:
        return { kind: "hold_expired", claim: readable(reply[1]) };
      case HOLD.ALREADY_CONFIRMED:
        return { kind: "already_confirmed", claim: readable(reply[1]) };
      case HOLD.NOT_A_HOLD:
        return { kind: "not_a_hold", claim: readable(reply[1]) };
      case HOLD.GONE: {
        // Written to the ledger between the read and the script.
        const answer = await fromLedger(ctx, action, claimId);
        if (answer.kind !== "live") return answer;
        throw beingRebuilt();
      }
      case HOLD.NOT_FOUND:
      case HOLD.REBUILDING: {
        const ready = await ctx.loader.ready(campaignId);
        if (ready === "retired" || ready === "unknown") {
          const answer = await fromLedger(ctx, action, claimId);
          if (answer.kind !== "live") return answer;
        }
        if (ready !== "ready") throw beingRebuilt();
        continue;
      }
      default:
        throw unreadable();
    }
  }
  throw beingRebuilt();
}

/** Expires every due hold of the campaign (reap-6.lua, a batch per call). */
export async function reapExpired(ctx: AdmissionContext, campaignId: string): Promise<ReapResult> {
  const expired: Claim[] = [];
  for (;;) {
    const reply = (await ctx.scripts.reap(keysOf(ctx, campaignId), [
      REAP_BATCH,
      ctx.sink.mode,
      ctx.events.channel,
      campaignId,
    ])) as Reply;
    // No state (retired, or lost: the rebuild loads the holds again) or being rebuilt: nothing now.
    if (reply[0] !== REAP.OK) return { expired, nextDueAt: null };
    const claims = reply.slice(2).map(readable);
    expired.push(...claims);
    if (claims.length < REAP_BATCH) return { expired, nextDueAt: reply[1] === "" ? null : Number(reply[1]) };
  }
}

function keysOf(ctx: AdmissionContext, campaignId: string): string[] {
  const k = ctx.keys.campaign(campaignId);
  return [k.state, k.holders, k.claims, ctx.sink.key(k), k.free, k.expiries];
}

async function run(ctx: AdmissionContext, action: HoldAction, campaignId: string, claimId: string) {
  const script = action === "confirm" ? ctx.scripts.confirm : ctx.scripts.release;
  try {
    return (await script(keysOf(ctx, campaignId), [claimId, ctx.sink.mode, ctx.events.channel])) as Reply;
  } catch (error) {
    throw redisDidNotAnswer(error);
  }
}

/** The ledger holds the claim live (held): only Redis decides it; see settle(). */
type LiveInLedger = { kind: "live"; campaignId: string };

/** The answer for a claim Redis no longer holds, from the ledger (the truth). */
async function fromLedger(
  ctx: AdmissionContext,
  action: HoldAction,
  claimId: string,
): Promise<HoldOutcome | LiveInLedger> {
  const claim = await unavailableOnFailure(ctx.ledger.findClaim(claimId), "The ledger did not answer.");
  if (!claim) return { kind: "claim_not_found" };
  return finishedHoldOutcome(action, claim) ?? { kind: "live", campaignId: claim.campaignId };
}

function readable(packed: string | number | undefined): Claim {
  try {
    return unpackClaim(String(packed));
  } catch (error) {
    if (error instanceof ClaimDecodeError) throw unreadable();
    throw error;
  }
}

const unreadable = () =>
  new StampedeError("unavailable", "This claim was written by a newer stampede; retry once it is upgraded.", {
    retryAfter: 1,
  });
