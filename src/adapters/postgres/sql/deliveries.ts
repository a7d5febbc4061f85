/**
 * The webhook outbox SQL (ports/delivery.ts). Pending rows of a campaign
 * without a webhook are parked (ledger-common/rows.ts, PARKED).
 */
import type { DeliveryFailure, WebhookConfig } from "../../../ports/delivery.ts";
import { type DeliveryRow, type DueRow, PARKED } from "../../ledger-common/rows.ts";
import type { Schema } from "../schema.ts";
import { type Db, statement } from "./db.ts";

export async function upsertWebhook(db: Db, s: Schema, campaignId: string, w: WebhookConfig): Promise<void> {
  await db.query(
    statement(
      "upsert-webhook",
      s,
      `INSERT INTO ${s}.webhooks (campaign_id, url, secret, updated_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (campaign_id) DO UPDATE SET url = excluded.url, secret = excluded.secret,
         updated_at = excluded.updated_at`,
      [campaignId, w.url, w.secret, w.updatedAt],
    ),
  );
}

export async function deleteWebhook(db: Db, s: Schema, campaignId: string): Promise<void> {
  await db.query(
    statement("delete-webhook", s, `DELETE FROM ${s}.webhooks WHERE campaign_id = $1`, [campaignId]),
  );
}

/** Parks (due = PARKED) or unparks (due = now) the campaign's pending deliveries. */
export async function setPendingDue(
  db: Db,
  s: Schema,
  campaignId: string,
  park: boolean,
  now: number,
): Promise<void> {
  await db.query(
    statement(
      park ? "park-deliveries" : "unpark-deliveries",
      s,
      park
        ? `UPDATE ${s}.deliveries SET next_attempt_at = $2 WHERE state = 'pending' AND campaign_id = $1`
        : `UPDATE ${s}.deliveries SET next_attempt_at = $2
           WHERE state = 'pending' AND next_attempt_at = $3 AND campaign_id = $1`,
      park ? [campaignId, PARKED] : [campaignId, now, PARKED],
    ),
  );
}

export async function backfillDeliveries(
  db: Db,
  s: Schema,
  campaignId: string,
  now: number,
): Promise<number> {
  const result = await db.query(
    statement(
      "backfill-deliveries",
      s,
      `INSERT INTO ${s}.deliveries (claim_id, campaign_id, next_attempt_at, created_at)
       SELECT claim_id, campaign_id, $2, $2 FROM ${s}.claims WHERE campaign_id = $1
       ON CONFLICT DO NOTHING`,
      [campaignId, now],
    ),
  );
  return result.rowCount ?? 0;
}

export async function getWebhook(db: Db, s: Schema, campaignId: string): Promise<WebhookConfig | undefined> {
  const { rows } = await db.query<{ url: string; secret: string; updated_at: number }>(
    statement("get-webhook", s, `SELECT url, secret, updated_at FROM ${s}.webhooks WHERE campaign_id = $1`, [
      campaignId,
    ]),
  );
  const row = rows[0];
  return row && { url: row.url, secret: row.secret, updatedAt: row.updated_at };
}

/**
 * Leases due deliveries in one statement: rows another dispatcher holds are
 * skipped (SKIP LOCKED), and each leased row counts one more attempt and is
 * not due again before `leaseUntil`.
 */
export async function leaseDue(
  db: Db,
  s: Schema,
  now: number,
  limit: number,
  leaseUntil: number,
): Promise<DueRow[]> {
  const { rows } = await db.query<DueRow>(
    statement(
      "lease-due-deliveries",
      s,
      `WITH due AS (
         SELECT d.claim_id FROM ${s}.deliveries d
         WHERE d.state = 'pending' AND d.next_attempt_at <= $1
           AND EXISTS (SELECT 1 FROM ${s}.webhooks w WHERE w.campaign_id = d.campaign_id)
         ORDER BY d.next_attempt_at LIMIT $2
         FOR UPDATE SKIP LOCKED
       )
       UPDATE ${s}.deliveries d SET attempts = d.attempts + 1, next_attempt_at = $3
       FROM due, ${s}.claims c, ${s}.webhooks w
       WHERE d.claim_id = due.claim_id AND c.claim_id = d.claim_id AND w.campaign_id = d.campaign_id
       RETURNING c.*, d.attempts, w.url, w.secret`,
      [now, limit, leaseUntil],
    ),
  );
  return rows;
}

export async function nextDueAt(db: Db, s: Schema): Promise<number | undefined> {
  const { rows } = await db.query<{ t: number }>(
    statement(
      "next-due-delivery",
      s,
      `SELECT d.next_attempt_at AS t FROM ${s}.deliveries d
       JOIN ${s}.webhooks w ON w.campaign_id = d.campaign_id
       WHERE d.state = 'pending' AND d.next_attempt_at < $1 ORDER BY d.next_attempt_at LIMIT 1`,
      [PARKED],
    ),
  );
  return rows[0]?.t;
}

export async function markDelivered(
  db: Db,
  s: Schema,
  claimIds: readonly string[],
  at: number,
): Promise<void> {
  await db.query(
    statement(
      "mark-delivered",
      s,
      `UPDATE ${s}.deliveries SET state = 'delivered', delivered_at = $2, last_error = NULL
       WHERE claim_id = ANY($1::text[]) AND state = 'pending'`,
      [claimIds, at],
    ),
  );
}

export async function markFailed(db: Db, s: Schema, failures: readonly DeliveryFailure[]): Promise<void> {
  await db.query(
    statement(
      "mark-failed",
      s,
      `UPDATE ${s}.deliveries d
       SET state = CASE WHEN f.next IS NULL THEN 'dead' ELSE 'pending' END,
           next_attempt_at = COALESCE(f.next, d.next_attempt_at),
           last_error = f.error
       FROM unnest($1::text[], $2::bigint[], $3::text[]) AS f (claim_id, next, error)
       WHERE d.claim_id = f.claim_id AND d.state = 'pending'`,
      [
        failures.map((f) => f.claimId),
        failures.map((f) => f.nextAttemptAt),
        failures.map((f) => f.error.slice(0, 500)),
      ],
    ),
  );
}

export async function listDead(
  db: Db,
  s: Schema,
  campaignId: string,
  after: string,
  limit: number,
): Promise<DeliveryRow[]> {
  const { rows } = await db.query<DeliveryRow>(
    statement(
      "list-dead-deliveries",
      s,
      `SELECT * FROM ${s}.deliveries WHERE campaign_id = $1 AND state = 'dead' AND claim_id > $2
       ORDER BY claim_id LIMIT $3`,
      [campaignId, after, limit],
    ),
  );
  return rows;
}

export async function deadCount(db: Db, s: Schema, campaignId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    statement(
      "count-dead-deliveries",
      s,
      `SELECT count(*)::int AS n FROM ${s}.deliveries WHERE campaign_id = $1 AND state = 'dead'`,
      [campaignId],
    ),
  );
  return rows[0]?.n ?? 0;
}

/** Dead deliveries start over: the given claims' (null: every dead one of the campaign). */
export async function replayDead(
  db: Db,
  s: Schema,
  campaignId: string,
  claimIds: readonly string[] | null,
  now: number,
): Promise<number> {
  const result = await db.query(
    statement(
      "replay-dead-deliveries",
      s,
      `UPDATE ${s}.deliveries SET state = 'pending', attempts = 0, next_attempt_at = $3, last_error = NULL
       WHERE campaign_id = $1 AND state = 'dead' AND ($2::text[] IS NULL OR claim_id = ANY($2::text[]))`,
      [campaignId, claimIds, now],
    ),
  );
  return result.rowCount ?? 0;
}
