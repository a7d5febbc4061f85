import type pg from "pg";
import type { Campaign } from "../../domain/types.ts";
import type { AuditEntry, AuditRecord, LifecycleLedger } from "../../ports/lifecycle-ledger.ts";
import type { Schema } from "./schema.ts";
import type { Db } from "./sql/db.ts";
import { anonymiseUserClaims, auditLog, insertAudit, updateCampaignLifecycle } from "./sql/lifecycle.ts";
import { inTransaction } from "./sql/transaction.ts";

/** The distributed ledger's side of the lifecycle (ports/lifecycle-ledger.ts). */
export class PostgresLifecycle implements LifecycleLedger {
  readonly #pool: pg.Pool;
  readonly #s: Schema;

  constructor(pool: pg.Pool, s: Schema) {
    this.#pool = pool;
    this.#s = s;
  }

  recordCampaignChange(campaign: Campaign, audit: AuditEntry): Promise<void> {
    return inTransaction(this.#pool, async (db) => {
      await updateCampaignLifecycle(db, this.#s, campaign);
      await insertAudit(db, this.#s, audit);
    });
  }

  auditLog(campaignId: string, after: number, limit: number): Promise<AuditRecord[]> {
    return auditLog(this.#pool as unknown as Db, this.#s, campaignId, after, limit);
  }

  eraseUser(campaignId: string, userId: string, audit: AuditEntry | undefined): Promise<string[]> {
    return inTransaction(this.#pool, async (db) => {
      const ids = await anonymiseUserClaims(db, this.#s, campaignId, userId);
      if (audit)
        await insertAudit(db, this.#s, { ...audit, details: { ...audit.details, claims: ids.length } });
      return ids;
    });
  }
}
