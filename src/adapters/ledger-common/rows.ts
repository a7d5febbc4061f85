/**
 * The ledger's rows as both SQL engines return them (PostgreSQL bigints parsed
 * to numbers by the pool, SQLite integers as numbers) and their domain
 * objects: the tables have the same columns in both (see each engine's
 * migrations/).
 */

import { drawCommitment, seedBytes } from "../../domain/draw.ts";
import type { Campaign, CampaignStatus, Claim } from "../../domain/types.ts";
import {
  type ClaimEventName,
  claimIdOfDelivery,
  type DeliveryRecord,
  type DueDelivery,
  deliveryIdOf,
} from "../../ports/delivery.ts";
import type { AuditRecord } from "../../ports/lifecycle-ledger.ts";

export interface ClaimRow {
  claim_id: string;
  campaign_id: string;
  user_id: string;
  seq: number;
  unit: number;
  coupon_code: string;
  admitted_at: number;
  /** Null unless issued. */
  issued_at: number | null;
  idempotency_key: string | null;
  status: "held" | "issued" | "expired" | "released";
  expires_at: number | null;
  ended_at: number | null;
}

export interface CampaignRow {
  id: string;
  name: string;
  stock: number;
  per_user_limit: number;
  starts_at: number | null;
  ends_at: number | null;
  created_at: number;
  status: CampaignStatus;
  revision: number;
  hold_seconds: number | null;
  /** 1 unless the campaign asked for shards (migrations 0005_shards.sql). */
  shards: number;
  /** Waiting room (all three null without one). */
  prequeue_seconds: number | null;
  release_per_second: number | null;
  /** 32 bytes (SQLite BLOB, PostgreSQL bytea). */
  draw_seed: Uint8Array | null;
}

/** An audit row; `details` is parsed JSON (SQLite stores text: its query module parses it). */
export interface AuditRow {
  id: number;
  campaign_id: string;
  at: number;
  actor: string;
  request_id: string | null;
  client_ip: string | null;
  action: AuditRecord["action"];
  details: Record<string, unknown>;
}

export interface DeliveryRow {
  claim_id: string;
  campaign_id: string;
  event: ClaimEventName;
  state: DeliveryRecord["state"];
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  created_at: number;
  delivered_at: number | null;
}

/** A leased delivery: its claim, the attempt it is (1 for the first), and where it goes. */
export type DueRow = ClaimRow & { event: ClaimEventName; attempts: number; url: string; secret: string };

/**
 * Pending deliveries of a campaign without a webhook are parked: due at
 * PARKED, which no clock reaches, so the dispatcher's due scan never wades
 * through them; setting a webhook again makes them due.
 */
export const PARKED = Number.MAX_SAFE_INTEGER;

/** Times the row lacks are absent from the claim (a claim without holds reads as before holds). */
export function toClaim(row: ClaimRow): Claim {
  const claim: Claim = {
    claimId: row.claim_id,
    campaignId: row.campaign_id,
    userId: row.user_id,
    seq: row.seq,
    unit: row.unit,
    couponCode: row.coupon_code,
    admittedAt: row.admitted_at,
    status: row.status,
    idempotencyKey: row.idempotency_key ?? undefined,
  };
  if (row.issued_at !== null) claim.issuedAt = row.issued_at;
  if (row.expires_at !== null) claim.expiresAt = row.expires_at;
  if (row.ended_at !== null) claim.endedAt = row.ended_at;
  return claim;
}

/**
 * holdSeconds only when the campaign has holds, waitingRoom only with a room
 * (its commitment computed from the seed): a campaign without reads as before them.
 */
export function toCampaign(row: CampaignRow): Campaign {
  const campaign: Campaign = {
    id: row.id,
    name: row.name,
    stock: row.stock,
    perUserLimit: row.per_user_limit,
    startsAt: row.starts_at,
    endsAt: row.ends_at,
    createdAt: row.created_at,
    status: row.status,
    revision: row.revision,
  };
  if (row.hold_seconds !== null) campaign.holdSeconds = row.hold_seconds;
  // Only campaigns over shards say so: one with a single shard reads as before shards.
  if (row.shards > 1) campaign.shards = row.shards;
  if (row.prequeue_seconds !== null && row.draw_seed !== null) {
    const seed = Buffer.from(row.draw_seed).toString("hex");
    campaign.waitingRoom = {
      prequeueSeconds: row.prequeue_seconds,
      releasePerSecond: row.release_per_second,
      seed,
      commitment: drawCommitment(seed),
    };
  }
  return campaign;
}

/** The waiting-room columns of a new campaign's row: prequeue_seconds, release_per_second, draw_seed. */
export function waitingRoomColumns(c: Campaign): [number | null, number | null, Buffer | null] {
  const room = c.waitingRoom;
  if (!room) return [null, null, null];
  return [room.prequeueSeconds, room.releasePerSecond ?? null, seedBytes(room.seed)];
}

export const toAuditRecord = (row: AuditRow): AuditRecord => ({
  id: row.id,
  campaignId: row.campaign_id,
  at: row.at,
  actor: row.actor,
  requestId: row.request_id ?? "",
  clientIp: row.client_ip ?? "",
  action: row.action,
  details: row.details,
});

export const toDeliveryRecord = (row: DeliveryRow): DeliveryRecord => ({
  deliveryId: deliveryIdOf(row.claim_id, row.event),
  claimId: row.claim_id,
  event: row.event,
  campaignId: row.campaign_id,
  state: row.state,
  attempts: row.attempts,
  nextAttemptAt: row.next_attempt_at,
  lastError: row.last_error,
  createdAt: row.created_at,
  deliveredAt: row.delivered_at,
});

export const toDueDelivery = (row: DueRow): DueDelivery => ({
  deliveryId: deliveryIdOf(row.claim_id, row.event),
  event: row.event,
  claim: toClaim(row),
  attempt: row.attempts,
  url: row.url,
  secret: row.secret,
});

/** The claim ids of the deliveries to replay (ids that name no delivery are ignored); null for every dead one. */
export const claimIdsToReplay = (deliveryIds: readonly string[] | undefined): string[] | null =>
  deliveryIds === undefined
    ? null
    : deliveryIds.map(claimIdOfDelivery).filter((id): id is string => id !== undefined);
