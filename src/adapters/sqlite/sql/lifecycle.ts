/** Lifecycle SQL: campaign changes, the audit trail, erasure (docs/lifecycle.md). */
import { ERASED_PREFIX } from "../../../domain/erasure.ts";
import type { Campaign } from "../../../domain/types.ts";
import type { AuditEntry, AuditRecord } from "../../../ports/lifecycle-ledger.ts";
import { type AuditRow, toAuditRecord } from "../../ledger-common/rows.ts";
import { type Db, statement } from "./db.ts";

export function insertAudit(db: Db, e: AuditEntry): void {
  statement(
    db,
    `INSERT INTO campaign_audit (campaign_id, at, actor, request_id, client_ip, action, details)
     VALUES (?, ?, ?, ?, ?, ?, ?)`,
  ).run(e.campaignId, e.at, e.actor, e.requestId, e.clientIp, e.action, JSON.stringify(e.details));
}

/** Only a newer revision overwrites: ledger writes of two racing changes may land in either order. */
export function updateCampaignLifecycle(db: Db, c: Campaign): void {
  const revision = c.revision ?? 0;
  statement(
    db,
    "UPDATE campaigns SET status = ?, stock = ?, ends_at = ?, revision = ? WHERE id = ? AND revision < ?",
  ).run(c.status ?? "open", c.stock, c.endsAt, revision, c.id, revision);
}

export function auditLog(db: Db, campaignId: string, after: number, limit: number): AuditRecord[] {
  const rows = statement(
    db,
    "SELECT * FROM campaign_audit WHERE campaign_id = ? AND id > ? ORDER BY id LIMIT ?",
  ).all(campaignId, after, limit) as unknown as (Omit<AuditRow, "details"> & { details: string })[];
  return rows.map((r) => toAuditRecord({ ...r, details: JSON.parse(r.details) as AuditRow["details"] }));
}

/**
 * The user's claims are held by their tombstones (domain/erasure.ts) and
 * lose their idempotency key; their undelivered webhook deliveries go.
 * Returns the claim ids anonymised. Run inside a transaction with the audit.
 */
export function anonymiseUserClaims(db: Db, campaignId: string, userId: string): string[] {
  const erased = statement(
    db,
    `UPDATE claims SET user_id = ? || claim_id, idempotency_key = NULL
     WHERE campaign_id = ? AND user_id = ? RETURNING claim_id`,
  ).all(ERASED_PREFIX, campaignId, userId) as { claim_id: string }[];
  const drop = statement(db, "DELETE FROM deliveries WHERE claim_id = ? AND state <> 'delivered'");
  for (const { claim_id } of erased) drop.run(claim_id);
  return erased.map((r) => r.claim_id);
}
