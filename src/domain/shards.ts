/**
 * A hot campaign over shards (docs/scaling.md "Hot campaign: shards"): the
 * pure rules every process must agree on, so that any of them finds a
 * user's shard and a shard's first slice of stock without asking anyone.
 */

import { createHash } from "node:crypto";

/** The most shards a campaign may ask for. */
export const MAX_SHARDS = 16;

/**
 * The shard a user always maps to: a stable hash of the user id mod the
 * count (the first 32 bits of SHA-256, so every process and every release
 * agree, and a user's holders entry, per-user limit and idempotency records
 * stay in one shard's slot).
 */
export function shardOfUser(userId: string, shards: number): number {
  if (shards <= 1) return 0;
  return createHash("sha256").update(userId).digest().readUInt32BE(0) % shards;
}

/**
 * How `units` units split over `shards` shards: as evenly as can be, the
 * first `units mod shards` shards one more (they sum to `units`).
 */
export function splitStock(units: number, shards: number): number[] {
  const base = Math.floor(units / shards);
  const extra = units % shards;
  return Array.from({ length: shards }, (_, i) => base + (i < extra ? 1 : 0));
}

/**
 * Cuts a sorted list of free units into `shards` slices (splitStock's
 * sizes), each a run of neighbours where it can be: a fresh campaign's shard
 * s gets one contiguous range of units, which its state hands out with a
 * counter (no list to store).
 */
export function sliceUnits(units: readonly number[], shards: number): number[][] {
  const sizes = splitStock(units.length, shards);
  const out: number[][] = [];
  let at = 0;
  for (const size of sizes) {
    out.push(units.slice(at, at + size));
    at += size;
  }
  return out;
}

/**
 * How a shard hands out a slice of units: `next` (the counter: units next+1,
 * next+2, ... are fresh) and `free` (a list handed out first). The slice's
 * last run of neighbours goes to the counter, the rest to the list, so a
 * contiguous slice needs no list at all.
 */
export function sliceState(slice: readonly number[]): { next: number; free: number[] } {
  if (slice.length === 0) return { next: 0, free: [] };
  let start = slice.length - 1;
  while (start > 0 && slice[start - 1] === slice[start]! - 1) start--;
  return { next: slice[start]! - 1, free: slice.slice(0, start) };
}
