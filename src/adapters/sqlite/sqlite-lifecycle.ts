import type { DatabaseSync, StatementSync } from "node:sqlite";
import { erasedUserId } from "../../domain/erasure.ts";
import type { Campaign } from "../../domain/types.ts";
import type { AuditEntry, AuditRecord, LifecycleLedger } from "../../ports/lifecycle-ledger.ts";
import { inTransaction } from "./transaction.ts";

/** The embedded ledger's side of the lifecycle: campaign changes, the audit trail, erasure. */
interface AuditRow {
  id: number;
  campaign_id: string;
  at: number;
  actor: string;
  request_id: string | null;
  client_ip: string | null;
  action: AuditRecord["action"];
  details: string;
}

const toAudit = (row: AuditRow): AuditRecord => ({
  id: row.id,
  campaignId: row.campaign_id,
  at: row.at,
  actor: row.actor,
  requestId: row.request_id ?? "",
  clientIp: row.client_ip ?? "",
  action: row.action,
  details: JSON.parse(row.details) as Record<string, unknown>,
});

export class SqliteLifecycle implements LifecycleLedger {
  readonly #db: DatabaseSync;
  #statements: ReturnType<typeof prepare> | undefined;

  constructor(db: DatabaseSync) {
    this.#db = db;
  }

  /** Prepared on first use: the tables exist only once migrate() ran. */
  get #sql(): ReturnType<typeof prepare> {
    this.#statements ??= prepare(this.#db);
    return this.#statements;
  }

  /** Inside a caller's transaction. */
  insertAudit(entry: AuditEntry): void {
    this.#sql.insertAudit.run(
      entry.campaignId,
      entry.at,
      entry.actor,
      entry.requestId,
      entry.clientIp,
      entry.action,
      JSON.stringify(entry.details),
    );
  }

  async recordCampaignChange(campaign: Campaign, audit: AuditEntry): Promise<void> {
    inTransaction(this.#db, () => {
      this.#sql.updateCampaign.run(
        campaign.status ?? "open",
        campaign.stock,
        campaign.endsAt,
        campaign.revision ?? 0,
        campaign.id,
        campaign.revision ?? 0,
      );
      this.insertAudit(audit);
    });
  }

  async auditLog(campaignId: string, after: number, limit: number): Promise<AuditRecord[]> {
    return (this.#sql.auditLog.all(campaignId, after, limit) as unknown as AuditRow[]).map(toAudit);
  }

  async eraseUser(campaignId: string, userId: string, audit: AuditEntry | undefined): Promise<string[]> {
    const sql = this.#sql;
    return inTransaction(this.#db, () => {
      const ids = (sql.userClaimIds.all(campaignId, userId) as { claim_id: string }[]).map((r) => r.claim_id);
      for (const claimId of ids) {
        sql.anonymise.run(erasedUserId(claimId), claimId);
        sql.dropUndelivered.run(claimId);
      }
      if (audit) this.insertAudit({ ...audit, details: { ...audit.details, claims: ids.length } });
      return ids;
    });
  }
}

function prepare(db: DatabaseSync) {
  const s = (sql: string): StatementSync => db.prepare(sql);
  return {
    insertAudit: s(
      `INSERT INTO campaign_audit (campaign_id, at, actor, request_id, client_ip, action, details)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ),
    // Only a newer revision overwrites: ledger writes of two racing changes may land in either order.
    updateCampaign: s(
      "UPDATE campaigns SET status = ?, stock = ?, ends_at = ?, revision = ? WHERE id = ? AND revision < ?",
    ),
    auditLog: s("SELECT * FROM campaign_audit WHERE campaign_id = ? AND id > ? ORDER BY id LIMIT ?"),
    userClaimIds: s("SELECT claim_id FROM claims WHERE campaign_id = ? AND user_id = ?"),
    anonymise: s("UPDATE claims SET user_id = ?, idempotency_key = NULL WHERE claim_id = ?"),
    dropUndelivered: s("DELETE FROM deliveries WHERE claim_id = ? AND state <> 'delivered'"),
  };
}
