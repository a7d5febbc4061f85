import { ERASED_PREFIX } from "../../../domain/erasure.ts";
import type { ForgetOutcome } from "../../../ports/admission.ts";
import { userRef } from "./claims.ts";
import { FORGET } from "./codes.ts";
import type { AdmissionContext } from "./context.ts";
import { redisDidNotAnswer } from "./unavailable.ts";

/**
 * Erasure's Redis step (forget-user-3.lua, docs/lifecycle.md), once the
 * ledger has anonymised the user's issued claims: refused ("pending") while a
 * claim of the user is still on its way to the ledger, else the user's claims
 * are held by their tombstones from now on. The caller waits and tries again
 * on "pending".
 */
export async function forgetUser(
  ctx: AdmissionContext,
  campaignId: string,
  userId: string,
): Promise<ForgetOutcome> {
  const ready = await ctx.loader.ready(campaignId);
  if (ready === "unknown") return { kind: "campaign_not_found" };
  // Retired: nothing of the user is left in Redis (the keys expired).
  if (ready === "retired") return { kind: "forgotten", claims: 0 };
  if (ready === "timeout") return { kind: "pending" };
  // A campaign over shards keeps the user's claims in the user's shard.
  const k = ctx.keys.campaign(await userRef(ctx, campaignId, userId));
  let reply: number[];
  try {
    reply = (await ctx.scripts.forgetUser(
      [k.state, k.holders, k.claims],
      [userId, ERASED_PREFIX],
    )) as number[];
  } catch (error) {
    throw redisDidNotAnswer(error);
  }
  ctx.memory.drop(campaignId);
  if (reply[0] === FORGET.FORGOTTEN && (reply[1] ?? 0) > 0) await ctx.events.publish("forgot", campaignId);
  if (reply[0] === FORGET.FORGOTTEN) return { kind: "forgotten", claims: reply[1] ?? 0 };
  if (reply[0] === FORGET.NOT_FOUND) return { kind: "campaign_not_found" };
  // Pending, or being rebuilt.
  return { kind: "pending" };
}
