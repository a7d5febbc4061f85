/**
 * A hot campaign over shards (docs/scaling.md "Hot campaign: shards"): its
 * stock is split over K shards, each under a hash tag of its own (keys.ts
 * shardRef), and a user always claims in one shard (shardOfUser). This
 * module is what makes K slices behave as one stock:
 *
 * - refill(): a shard whose slice ran out takes units from the others before
 *   anyone is answered 410 (invariant 4): a donor script moves units into a
 *   transfer record in the donor's slot (shard-give-3.lua), the receiving
 *   shard applies it once (shard-take-3.lua, idempotent by transfer id), and
 *   only then is the record deleted. A crash in between leaves the record,
 *   which settle() (the workers' sweep, and refill itself) applies later: a
 *   unit is always in exactly one place, a shard's stock or one record.
 * - soldOutEverywhere(): the campaign is sold out only when every shard is
 *   out and nothing is in transit, seen twice with no give or take in
 *   between (each bumps its shard's `moves`): stock only leaves a shard by
 *   admission or a give and only arrives by a take, so two equal readings
 *   bracket a moment at which the whole campaign had nothing left. Then each
 *   shard is marked (shard-sold-out-1.lua): its 410 becomes a campaign-wide,
 *   leased answer, remembered by API processes as for any campaign.
 */

import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { StampedeError } from "../../../domain/errors.ts";
import type { CampaignCounters } from "../../../domain/types.ts";
import { shardRef } from "../keys.ts";
import type { AdmissionContext } from "./context.ts";

/** Most units one transfer moves (a donor gives at most half of what it has left). */
export const TRANSFER_MAX = 64;
/** A transfer record older than this is the sweep's to apply (its giver may have crashed). */
export const SETTLE_AFTER_MS = 2000;
/** How long a claim waits for stock from other shards (in transit, or taken by others first) before a 503. */
export const REFILL_WAIT_MS = 5000;

type Reply = (string | number)[];

export type RefillResult = "refilled" | "sold_out";

const refilling = new WeakMap<AdmissionContext, Map<string, Promise<RefillResult>>>();

/**
 * Gets units into shard `shard` from the others, or finds the campaign sold
 * out (and marks it so). One refill per shard at a time in this process:
 * the hundreds of claims that find a slice empty at once share it. Throws
 * the contract's 503 when stock is in transit for longer than it waits.
 */
export function refill(
  ctx: AdmissionContext,
  campaignId: string,
  shards: number,
  shard: number,
): Promise<RefillResult> {
  let running = refilling.get(ctx);
  if (!running) {
    running = new Map();
    refilling.set(ctx, running);
  }
  const ref = shardRef(campaignId, shard);
  let work = running.get(ref);
  if (!work) {
    work = refillOnce(ctx, campaignId, shards, shard).finally(() => running.delete(ref));
    running.set(ref, work);
  }
  return work;
}

async function refillOnce(
  ctx: AdmissionContext,
  campaignId: string,
  shards: number,
  shard: number,
): Promise<RefillResult> {
  const deadline = performance.now() + REFILL_WAIT_MS;
  for (;;) {
    // Donors in ring order after this shard, so receivers spread their asks.
    for (let i = 1; i < shards; i++) {
      const donor = (shard + i) % shards;
      if ((await transfer(ctx, campaignId, donor, shard, TRANSFER_MAX)) > 0) return "refilled";
    }
    const seen = await soldOutEverywhere(ctx, campaignId, shards);
    if (seen.soldOut) {
      await markSoldOut(ctx, campaignId, shards, seen.epoch);
      return "sold_out";
    }
    // Units are in transit (or moving): apply what a crash left, then look again.
    if (seen.inTransit > 0) await settle(ctx, campaignId, shards, SETTLE_AFTER_MS);
    if (performance.now() > deadline)
      throw new StampedeError("unavailable", "Stock is moving between the campaign's shards; retry.", {
        retryAfter: 1,
      });
    await sleep(10);
  }
}

/** Moves up to `want` units from shard `from` to shard `to`; how many arrived. */
export async function transfer(
  ctx: AdmissionContext,
  campaignId: string,
  from: number,
  to: number,
  want: number,
): Promise<number> {
  const donor = ctx.keys.campaign(shardRef(campaignId, from));
  const id = randomBytes(12).toString("base64url");
  const given = (await ctx.scripts.shardGive(
    [donor.state, donor.free, donor.transfers],
    [id, to, want, Date.now()],
  )) as Reply;
  if (Number(given[0]) === 0) return 0;
  const units = given.slice(2).map(Number);
  const applied = await take(ctx, campaignId, from, to, id, String(given[1]), units);
  return applied ? units.length : 0;
}

/** Applies one transfer to its receiving shard, then deletes the donor's record; whether it landed now. */
async function take(
  ctx: AdmissionContext,
  campaignId: string,
  from: number,
  to: number,
  id: string,
  epoch: string,
  units: readonly number[],
): Promise<boolean> {
  const receiver = ctx.keys.campaign(shardRef(campaignId, to));
  const [code] = (await ctx.scripts.shardTake(
    [receiver.state, receiver.free, receiver.received],
    [id, epoch, ...units],
  )) as number[];
  // Being rebuilt: the record stays for later (the rebuild drops it if it recounts first).
  if (code === 6) return false;
  // Applied now, before, or stale (another epoch): the record has nothing left to do.
  await ctx.redis.hdel(ctx.keys.campaign(shardRef(campaignId, from)).transfers, id);
  return code === 1;
}

/**
 * Applies every transfer record of the campaign older than `olderThanMs`
 * (the workers' sweep: a giver that crashed before its take); how many
 * landed. Safe to run anywhere, any number of times: a take applies once.
 */
export async function settle(
  ctx: AdmissionContext,
  campaignId: string,
  shards: number,
  olderThanMs: number,
): Promise<number> {
  let landed = 0;
  const now = Date.now();
  for (let from = 0; from < shards; from++) {
    const records = await ctx.redis.hgetall(ctx.keys.campaign(shardRef(campaignId, from)).transfers);
    for (const [id, record] of Object.entries(records)) {
      const [to, epoch, at, units] = record.split("|");
      if (now - Number(at) < olderThanMs) continue;
      const list = units ? units.split(",").map(Number) : [];
      if (await take(ctx, campaignId, from, Number(to), id, epoch ?? "0", list)) landed += list.length;
    }
  }
  return landed;
}

interface ShardLook {
  status: string;
  stock: number;
  admitted: number;
  issued: number;
  moves: number;
  transfers: number;
  soldOut: boolean;
  epoch: string;
}

/** Every shard's stock, read once each (shard-look-2.lua). */
export async function look(ctx: AdmissionContext, campaignId: string, shards: number): Promise<ShardLook[]> {
  return Promise.all(
    Array.from({ length: shards }, async (_, shard) => {
      const k = ctx.keys.campaign(shardRef(campaignId, shard));
      const r = (await ctx.scripts.shardLook([k.state, k.transfers])) as Reply;
      return {
        status: String(r[0]),
        stock: Number(r[1]),
        admitted: Number(r[2]),
        issued: Number(r[3]),
        moves: Number(r[4]),
        transfers: Number(r[5]),
        soldOut: r[6] === 1,
        epoch: String(r[7]),
      };
    }),
  );
}

/** Whether the campaign is sold out in every shard with nothing in transit (see the header). */
export async function soldOutEverywhere(
  ctx: AdmissionContext,
  campaignId: string,
  shards: number,
): Promise<{ soldOut: boolean; inTransit: number; epoch: string }> {
  const first = await look(ctx, campaignId, shards);
  const inTransit = first.reduce((n, s) => n + s.transfers, 0);
  const empty = (s: ShardLook) => s.status !== "" && s.status !== "rebuilding" && s.admitted >= s.stock;
  const epoch = first[0]!.epoch;
  if (inTransit > 0 || !first.every(empty) || first.some((s) => s.epoch !== epoch))
    return { soldOut: false, inTransit, epoch };
  const second = await look(ctx, campaignId, shards);
  const still = second.every(
    (s, i) => empty(s) && s.transfers === 0 && s.moves === first[i]!.moves && s.epoch === epoch,
  );
  return { soldOut: still, inTransit: 0, epoch };
}

async function markSoldOut(
  ctx: AdmissionContext,
  campaignId: string,
  shards: number,
  epoch: string,
): Promise<void> {
  await Promise.all(
    Array.from({ length: shards }, (_, shard) => {
      const ref = shardRef(campaignId, shard);
      return ctx.scripts.shardSoldOut([ctx.keys.campaign(ref).state], [epoch, ctx.events.channel, ref]);
    }),
  );
}

/** The campaign's counters: every shard's, summed (units in transit are neither admitted nor issued). */
export async function shardedCounters(
  ctx: AdmissionContext,
  campaignId: string,
  shards: number,
): Promise<CampaignCounters | undefined> {
  const all = await look(ctx, campaignId, shards);
  if (all.some((s) => s.status === "" || s.status === "rebuilding")) return undefined;
  return {
    admitted: all.reduce((n, s) => n + s.admitted, 0),
    issued: all.reduce((n, s) => n + s.issued, 0),
    held: 0,
  };
}
