/**
 * Delivery of issued claims to the shop's systems (docs/lifecycle.md).
 *
 * Two paths, both at least once:
 * - IssuedSink: called by the ClaimWorker with every batch it issued, after
 *   the ledger write and before the queue acknowledgement, so a crash in
 *   between republishes the batch. Kafka mode's `issued` topic is a sink; the
 *   webhook dispatcher is one too (it only wakes up: its rows are already in
 *   the outbox).
 * - The webhook outbox (DeliveryLedger): a row per issued claim of a campaign
 *   with a webhook, written in the claim's own ledger transaction; the
 *   dispatcher leases due rows, POSTs them signed, and marks them delivered,
 *   retries them with backoff, or parks them as dead for an admin to replay.
 */
import type { Claim } from "../domain/types.ts";
import type { AuditEntry } from "./lifecycle-ledger.ts";

export interface IssuedSink {
  publish(claims: readonly Claim[]): Promise<void>;
}

export interface WebhookConfig {
  url: string;
  /** HMAC-SHA256 key of the Stampede-Signature header. Never shown by the API once set. */
  secret: string;
  updatedAt: number;
}

export type DeliveryState = "pending" | "delivered" | "dead";

/** A row of the outbox, as the admin routes show it. */
export interface DeliveryRecord {
  deliveryId: string;
  claimId: string;
  campaignId: string;
  state: DeliveryState;
  attempts: number;
  nextAttemptAt: number;
  lastError: string | null;
  createdAt: number;
  deliveredAt: number | null;
}

/** A delivery leased for sending: everything the dispatcher needs. */
export interface DueDelivery {
  deliveryId: string;
  claim: Claim;
  /** 1 for the first attempt. */
  attempt: number;
  url: string;
  secret: string;
}

export interface DeliveryFailure {
  claimId: string;
  error: string;
  /** When to try again; null parks the delivery as dead. */
  nextAttemptAt: number | null;
}

export interface DeliveryLedger {
  /**
   * Sets (config) or removes (null) a campaign's webhook and records the audit
   * entry, in one transaction. With `backfill`, claims issued before it get a
   * delivery too. Returns how many deliveries the backfill added.
   */
  setWebhook(
    campaignId: string,
    config: WebhookConfig | null,
    audit: AuditEntry,
    backfill: boolean,
  ): Promise<number>;
  getWebhook(campaignId: string): Promise<WebhookConfig | undefined>;

  /**
   * Leases up to `limit` deliveries due at `now` whose campaign has a webhook:
   * each counts one more attempt and is not due again before `leaseUntil`, so
   * a dispatcher that dies mid-send leaves it to be retried, not lost.
   */
  claimDue(now: number, limit: number, leaseUntil: number): Promise<DueDelivery[]>;
  /** The earliest next_attempt_at of a pending delivery (the dispatcher sleeps until then). */
  nextDueAt(): Promise<number | undefined>;
  markDelivered(claimIds: readonly string[], at: number): Promise<void>;
  markFailed(failures: readonly DeliveryFailure[]): Promise<void>;

  /** Dead deliveries of a campaign in claim id order, after `after` (a claim id; "" from the start). */
  listDead(campaignId: string, after: string, limit: number): Promise<DeliveryRecord[]>;
  deadCount(campaignId: string): Promise<number>;
  /**
   * Makes dead deliveries pending again (attempts from 0, due now): the given
   * ones, or every dead one of the campaign. Records the audit entry in the
   * same transaction. Returns how many were replayed.
   */
  replayDead(
    campaignId: string,
    deliveryIds: readonly string[] | undefined,
    now: number,
    audit: AuditEntry,
  ): Promise<number>;
}

/**
 * A delivery id names one event: the claim's issue. It is derived from the
 * claim id, so every retry and every replay carries the same id, and the
 * receiver drops what it has seen.
 */
const DELIVERY_PREFIX = "iss_";
export const deliveryIdOf = (claimId: string): string => `${DELIVERY_PREFIX}${claimId}`;
export const claimIdOfDelivery = (deliveryId: string): string | undefined =>
  deliveryId.startsWith(DELIVERY_PREFIX) ? deliveryId.slice(DELIVERY_PREFIX.length) : undefined;
