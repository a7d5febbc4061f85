import { setTimeout as sleep } from "node:timers/promises";
import { StampedeError } from "../../../domain/errors.ts";
import type { Campaign } from "../../../domain/types.ts";
import type { CampaignChange, ChangeOutcome } from "../../../ports/admission.ts";
import { shardRef } from "../keys.ts";
import { CHANGE } from "./codes.ts";
import type { AdmissionContext } from "./context.ts";
import { CACHE_LEASE_MS } from "./memory-answers.ts";
import { beingRebuilt, redisDidNotAnswer } from "./unavailable.ts";

/**
 * A lifecycle change (pause, resume, stock, endsAt, close), atomic with
 * admission (change-campaign-5.lua, docs/lifecycle.md). A change that may let
 * claims in again (a stock raise, a resume, a later or no end) takes two
 * steps: "hold" first, so no API process goes on answering 410 or 403 from
 * memory once the change is there (memory-answers.ts); then, after every
 * lease ran out, "apply". Each step is published on the campaign events
 * channel so API processes drop what they remembered at once.
 */
export async function changeCampaign(
  ctx: AdmissionContext,
  campaignId: string,
  change: CampaignChange,
): Promise<ChangeOutcome> {
  const ready = await ctx.loader.ready(campaignId);
  if (ready === "unknown") return { kind: "campaign_not_found" };
  if (ready === "retired") return { kind: "archived" };
  if (ready === "timeout") throw beingRebuilt();
  const definition = await ctx.definitions.read(campaignId);
  if (!definition) return { kind: "campaign_not_found" };
  // A campaign over shards changes in every shard (each atomic with its own admissions); its stock
  // is split and moves between shards, so it is fixed at creation.
  const shards = definition.shards ?? 1;
  if (shards > 1 && change.stock !== undefined)
    throw new StampedeError("invalid_request", "The stock of a campaign over shards cannot be changed.");
  const refs = shards > 1 ? Array.from({ length: shards }, (_, i) => shardRef(campaignId, i)) : [campaignId];
  const run = (mode: "hold" | "apply", ref: string) => {
    const k = ctx.keys.campaign(ref);
    return ctx.scripts.changeCampaign(
      [k.state, k.holders, k.stream, k.outbox, k.free],
      [
        mode,
        change.status ?? "",
        change.stock ?? "",
        change.endsAt === undefined ? "" : change.endsAt === null ? "none" : change.endsAt,
      ],
    ) as Promise<(string | number)[]>;
  };
  const runAll = (mode: "hold" | "apply") => Promise.all(refs.map((ref) => run(mode, ref)));
  try {
    if (mayReopen(definition, change)) {
      const held = await runAll("hold");
      if (held.some((r) => r[0] === CHANGE.HELD)) {
        await ctx.events.publish("hold", campaignId);
        await sleep(CACHE_LEASE_MS + 100);
      }
    }
    const replies = await runAll("apply");
    const reply = replies[0]!;
    ctx.definitions.forget(campaignId);
    ctx.memory.drop(campaignId);
    if (replies.some((r) => r[0] === CHANGE.CHANGED)) await ctx.events.publish("changed", campaignId);
    const outcome = changeOutcome(definition, reply);
    if (outcome.kind === "changed" && shards > 1) {
      // Every shard's admitted, and the campaign's stock (a shard's is its slice).
      outcome.admitted = replies.reduce((n, r) => n + (r[0] === CHANGE.CHANGED ? Number(r[2]) : 0), 0);
      outcome.campaign.stock = definition.stock;
      outcome.previous.stock = definition.stock;
    }
    return outcome;
  } catch (error) {
    if (error instanceof StampedeError) throw error;
    throw redisDidNotAnswer(error);
  }
}

/** Whether a change may let claims in that are refused now (a memory answer must not outlive it). */
function mayReopen(definition: Campaign, change: CampaignChange): boolean {
  if (change.stock !== undefined && change.stock > definition.stock) return true;
  if (change.status === "open" && definition.status !== "open") return true;
  if (change.endsAt === undefined || definition.endsAt === null) return false;
  return change.endsAt === null || change.endsAt > definition.endsAt;
}

function changeOutcome(definition: Campaign, reply: (string | number)[]): ChangeOutcome {
  const endsAt = (v: string | number | undefined) => (v === "" || v === undefined ? null : Number(v));
  switch (reply[0]) {
    case CHANGE.CHANGED: {
      const [, appliedAt, admitted, revision, prevStatus, prevStock, prevEnds, status, stock, ends] = reply;
      const previous: Campaign = {
        ...definition,
        status: prevStatus as Campaign["status"],
        stock: Number(prevStock),
        endsAt: endsAt(prevEnds),
        revision: Number(revision) - 1,
      };
      const campaign: Campaign = {
        ...definition,
        status: status as Campaign["status"],
        stock: Number(stock),
        endsAt: endsAt(ends),
        revision: Number(revision),
      };
      return {
        kind: "changed",
        campaign,
        previous,
        admitted: Number(admitted),
        appliedAt: Number(appliedAt),
      };
    }
    case CHANGE.STOCK_BELOW:
      return { kind: "stock_below_admitted", campaign: definition, admitted: Number(reply[1]) };
    case CHANGE.CLOSED:
      return { kind: "closed", campaign: { ...definition, status: "closed" } };
    case CHANGE.NOT_FOUND:
      return { kind: "campaign_not_found" };
    default:
      throw beingRebuilt();
  }
}
