/**
 * The webhook outbox SQL (ports/delivery.ts). Pending rows of a campaign
 * without a webhook are parked (ledger-common/rows.ts, PARKED).
 */
import type { DeliveryFailure, WebhookConfig } from "../../../ports/delivery.ts";
import { type DeliveryRow, type DueRow, PARKED } from "../../ledger-common/rows.ts";
import { type Db, statement } from "./db.ts";

export function upsertWebhook(db: Db, campaignId: string, w: WebhookConfig): void {
  statement(
    db,
    `INSERT INTO webhooks (campaign_id, url, secret, updated_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (campaign_id) DO UPDATE SET url = excluded.url, secret = excluded.secret,
       updated_at = excluded.updated_at`,
  ).run(campaignId, w.url, w.secret, w.updatedAt);
}

export function deleteWebhook(db: Db, campaignId: string): void {
  statement(db, "DELETE FROM webhooks WHERE campaign_id = ?").run(campaignId);
}

/** Parks (due = PARKED) or unparks (due = now) the campaign's pending deliveries. */
export function setPendingDue(db: Db, campaignId: string, park: boolean, now: number): void {
  if (park)
    statement(
      db,
      "UPDATE deliveries SET next_attempt_at = ? WHERE state = 'pending' AND campaign_id = ?",
    ).run(PARKED, campaignId);
  else
    statement(
      db,
      `UPDATE deliveries SET next_attempt_at = ?
       WHERE state = 'pending' AND next_attempt_at = ? AND campaign_id = ?`,
    ).run(now, PARKED, campaignId);
}

export function backfillDeliveries(db: Db, campaignId: string, now: number): number {
  const result = statement(
    db,
    `INSERT INTO deliveries (claim_id, campaign_id, next_attempt_at, created_at)
     SELECT claim_id, campaign_id, ?, ? FROM claims WHERE campaign_id = ? ON CONFLICT DO NOTHING`,
  ).run(now, now, campaignId);
  return Number(result.changes);
}

export function getWebhook(db: Db, campaignId: string): WebhookConfig | undefined {
  const row = statement(db, "SELECT url, secret, updated_at FROM webhooks WHERE campaign_id = ?").get(
    campaignId,
  ) as { url: string; secret: string; updated_at: number } | undefined;
  return row && { url: row.url, secret: row.secret, updatedAt: row.updated_at };
}

/**
 * Leases due deliveries: each counts one more attempt (`attempts` is the
 * attempt it now is) and is not due again before `leaseUntil`. Run inside a
 * transaction: one process owns the embedded ledger, so nothing else leases.
 */
export function leaseDue(db: Db, now: number, limit: number, leaseUntil: number): DueRow[] {
  const rows = statement(
    db,
    `SELECT c.*, d.attempts + 1 AS attempts, w.url, w.secret
     FROM deliveries d
     JOIN claims c ON c.claim_id = d.claim_id
     JOIN webhooks w ON w.campaign_id = d.campaign_id
     WHERE d.state = 'pending' AND d.next_attempt_at <= ?
     ORDER BY d.next_attempt_at LIMIT ?`,
  ).all(now, limit) as unknown as DueRow[];
  const lease = statement(
    db,
    "UPDATE deliveries SET attempts = attempts + 1, next_attempt_at = ? WHERE claim_id = ?",
  );
  for (const row of rows) lease.run(leaseUntil, row.claim_id);
  return rows;
}

/** An ordered scan of the due index: stops at the first row whose campaign has a webhook. */
export function nextDueAt(db: Db): number | undefined {
  const row = statement(
    db,
    `SELECT d.next_attempt_at AS t FROM deliveries d JOIN webhooks w ON w.campaign_id = d.campaign_id
     WHERE d.state = 'pending' AND d.next_attempt_at < ? ORDER BY d.next_attempt_at LIMIT 1`,
  ).get(PARKED) as { t: number } | undefined;
  return row?.t;
}

/** Inside the caller's transaction. */
export function markDelivered(db: Db, claimIds: readonly string[], at: number): void {
  const delivered = statement(
    db,
    `UPDATE deliveries SET state = 'delivered', delivered_at = ?, last_error = NULL
     WHERE claim_id = ? AND state = 'pending'`,
  );
  for (const id of claimIds) delivered.run(at, id);
}

/** Inside the caller's transaction. */
export function markFailed(db: Db, failures: readonly DeliveryFailure[]): void {
  const retry = statement(
    db,
    "UPDATE deliveries SET next_attempt_at = ?, last_error = ? WHERE claim_id = ? AND state = 'pending'",
  );
  const dead = statement(
    db,
    "UPDATE deliveries SET state = 'dead', last_error = ? WHERE claim_id = ? AND state = 'pending'",
  );
  for (const f of failures) {
    const error = f.error.slice(0, 500);
    if (f.nextAttemptAt === null) dead.run(error, f.claimId);
    else retry.run(f.nextAttemptAt, error, f.claimId);
  }
}

export function listDead(db: Db, campaignId: string, after: string, limit: number): DeliveryRow[] {
  return statement(
    db,
    `SELECT * FROM deliveries WHERE campaign_id = ? AND state = 'dead' AND claim_id > ?
     ORDER BY claim_id LIMIT ?`,
  ).all(campaignId, after, limit) as unknown as DeliveryRow[];
}

export function deadCount(db: Db, campaignId: string): number {
  return (
    statement(db, "SELECT count(*) AS n FROM deliveries WHERE campaign_id = ? AND state = 'dead'").get(
      campaignId,
    ) as { n: number }
  ).n;
}

/** Dead deliveries start over: the given claims' (null: every dead one of the campaign). Inside a transaction. */
export function replayDead(
  db: Db,
  campaignId: string,
  claimIds: readonly string[] | null,
  now: number,
): number {
  if (claimIds === null)
    return Number(
      statement(
        db,
        `UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = ?, last_error = NULL
         WHERE campaign_id = ? AND state = 'dead'`,
      ).run(now, campaignId).changes,
    );
  const replay = statement(
    db,
    `UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = ?, last_error = NULL
     WHERE claim_id = ? AND campaign_id = ? AND state = 'dead'`,
  );
  let replayed = 0;
  for (const id of claimIds) replayed += Number(replay.run(now, id, campaignId).changes);
  return replayed;
}
