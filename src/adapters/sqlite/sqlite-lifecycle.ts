import type { Campaign } from "../../domain/types.ts";
import type { AuditEntry, AuditRecord, LifecycleLedger } from "../../ports/lifecycle-ledger.ts";
import type { Db } from "./sql/db.ts";
import { anonymiseUserClaims, auditLog, insertAudit, updateCampaignLifecycle } from "./sql/lifecycle.ts";
import { inTransaction } from "./sql/transaction.ts";

/** The embedded ledger's side of the lifecycle (ports/lifecycle-ledger.ts), on the ledger's connection. */
export class SqliteLifecycle implements LifecycleLedger {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  async recordCampaignChange(campaign: Campaign, audit: AuditEntry): Promise<void> {
    inTransaction(this.#db, (db) => {
      updateCampaignLifecycle(db, campaign);
      insertAudit(db, audit);
    });
  }

  async auditLog(campaignId: string, after: number, limit: number): Promise<AuditRecord[]> {
    return auditLog(this.#db, campaignId, after, limit);
  }

  async eraseUser(campaignId: string, userId: string, audit: AuditEntry | undefined): Promise<string[]> {
    return inTransaction(this.#db, (db) => {
      const ids = anonymiseUserClaims(db, campaignId, userId);
      if (audit) insertAudit(db, { ...audit, details: { ...audit.details, claims: ids.length } });
      return ids;
    });
  }
}
