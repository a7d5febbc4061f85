import type {
  DeliveryFailure,
  DeliveryLedger,
  DeliveryRecord,
  DueDelivery,
  WebhookConfig,
} from "../../ports/delivery.ts";
import type { AuditEntry } from "../../ports/lifecycle-ledger.ts";
import { claimIdsToReplay, toDeliveryRecord, toDueDelivery } from "../ledger-common/rows.ts";
import type { Db } from "./sql/db.ts";
import * as sql from "./sql/deliveries.ts";
import { insertAudit } from "./sql/lifecycle.ts";
import { inTransaction } from "./sql/transaction.ts";

/**
 * The embedded ledger's webhook outbox (ports/delivery.ts), on the ledger's
 * connection. Its rows are written with their claims (sql/insert-claims.ts).
 */
export class SqliteDeliveries implements DeliveryLedger {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  async setWebhook(
    campaignId: string,
    config: WebhookConfig | null,
    audit: AuditEntry,
    backfill: boolean,
  ): Promise<number> {
    return inTransaction(this.#db, (db) => {
      let added = 0;
      if (config === null) {
        sql.deleteWebhook(db, campaignId);
        sql.setPendingDue(db, campaignId, true, audit.at);
      } else {
        sql.upsertWebhook(db, campaignId, config);
        sql.setPendingDue(db, campaignId, false, audit.at);
        if (backfill) added = sql.backfillDeliveries(db, campaignId, audit.at);
      }
      insertAudit(db, backfill ? { ...audit, details: { ...audit.details, backfilled: added } } : audit);
      return added;
    });
  }

  async getWebhook(campaignId: string): Promise<WebhookConfig | undefined> {
    return sql.getWebhook(this.#db, campaignId);
  }

  async claimDue(now: number, limit: number, leaseUntil: number): Promise<DueDelivery[]> {
    return inTransaction(this.#db, (db) => sql.leaseDue(db, now, limit, leaseUntil)).map(toDueDelivery);
  }

  async nextDueAt(): Promise<number | undefined> {
    return sql.nextDueAt(this.#db);
  }

  async markDelivered(claimIds: readonly string[], at: number): Promise<void> {
    if (claimIds.length > 0) inTransaction(this.#db, (db) => sql.markDelivered(db, claimIds, at));
  }

  async markFailed(failures: readonly DeliveryFailure[]): Promise<void> {
    if (failures.length > 0) inTransaction(this.#db, (db) => sql.markFailed(db, failures));
  }

  async listDead(campaignId: string, after: string, limit: number): Promise<DeliveryRecord[]> {
    return sql.listDead(this.#db, campaignId, after, limit).map(toDeliveryRecord);
  }

  async deadCount(campaignId: string): Promise<number> {
    return sql.deadCount(this.#db, campaignId);
  }

  async replayDead(
    campaignId: string,
    deliveryIds: readonly string[] | undefined,
    now: number,
    audit: AuditEntry,
  ): Promise<number> {
    const claimIds = claimIdsToReplay(deliveryIds);
    return inTransaction(this.#db, (db) => {
      const replayed = sql.replayDead(db, campaignId, claimIds, now);
      insertAudit(db, { ...audit, details: { ...audit.details, replayed } });
      return replayed;
    });
  }
}
