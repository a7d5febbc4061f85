/** Lifecycle SQL: campaign changes, the audit trail, erasure (docs/lifecycle.md). */
import { ERASED_PREFIX } from "../../../domain/erasure.ts";
import type { Campaign } from "../../../domain/types.ts";
import type { AuditEntry, AuditRecord } from "../../../ports/lifecycle-ledger.ts";
import { type AuditRow, toAuditRecord } from "../../ledger-common/rows.ts";
import type { Schema } from "../schema.ts";
import { type Db, statement } from "./db.ts";

export async function insertAudit(db: Db, s: Schema, e: AuditEntry): Promise<void> {
  await db.query(
    statement(
      "insert-audit",
      s,
      `INSERT INTO ${s}.campaign_audit (campaign_id, at, actor, request_id, client_ip, action, details)
       VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)`,
      [e.campaignId, e.at, e.actor, e.requestId, e.clientIp, e.action, JSON.stringify(e.details)],
    ),
  );
}

/** Only a newer revision overwrites: ledger writes of two racing changes may land in either order. */
export async function updateCampaignLifecycle(db: Db, s: Schema, c: Campaign): Promise<void> {
  await db.query(
    statement(
      "update-campaign-lifecycle",
      s,
      `UPDATE ${s}.campaigns SET status = $1, stock = $2, ends_at = $3, revision = $4
       WHERE id = $5 AND revision < $4`,
      [c.status ?? "open", c.stock, c.endsAt, c.revision ?? 0, c.id],
    ),
  );
}

export async function auditLog(
  db: Db,
  s: Schema,
  campaignId: string,
  after: number,
  limit: number,
): Promise<AuditRecord[]> {
  const { rows } = await db.query<AuditRow>(
    statement(
      "audit-log",
      s,
      `SELECT * FROM ${s}.campaign_audit WHERE campaign_id = $1 AND id > $2 ORDER BY id LIMIT $3`,
      [campaignId, after, limit],
    ),
  );
  return rows.map(toAuditRecord);
}

/**
 * The user's claims are held by their tombstones (domain/erasure.ts) and
 * lose their idempotency key; their undelivered webhook deliveries go.
 * Returns the claim ids anonymised. Run inside a transaction with the audit.
 */
export async function anonymiseUserClaims(
  db: Db,
  s: Schema,
  campaignId: string,
  userId: string,
): Promise<string[]> {
  const { rows } = await db.query<{ claim_id: string }>(
    statement(
      "anonymise-user-claims",
      s,
      `WITH erased AS (
         UPDATE ${s}.claims SET user_id = $3 || claim_id, idempotency_key = NULL
         WHERE campaign_id = $1 AND user_id = $2
         RETURNING claim_id
       ), dropped AS (
         DELETE FROM ${s}.deliveries d USING erased e WHERE d.claim_id = e.claim_id AND d.state <> 'delivered'
       )
       SELECT claim_id FROM erased`,
      [campaignId, userId, ERASED_PREFIX],
    ),
  );
  return rows.map((r) => r.claim_id);
}
