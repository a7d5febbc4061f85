import type pg from "pg";
import type {
  DeliveryFailure,
  DeliveryLedger,
  DeliveryRecord,
  DueDelivery,
  WebhookConfig,
} from "../../ports/delivery.ts";
import type { AuditEntry } from "../../ports/lifecycle-ledger.ts";
import { claimIdsToReplay, toDeliveryRecord, toDueDelivery } from "../ledger-common/rows.ts";
import type { Schema } from "./schema.ts";
import type { Db } from "./sql/db.ts";
import * as sql from "./sql/deliveries.ts";
import { insertAudit } from "./sql/lifecycle.ts";
import { inTransaction } from "./sql/transaction.ts";

/**
 * The distributed ledger's webhook outbox (ports/delivery.ts). Any number of
 * worker processes run a dispatcher on it: leases use SKIP LOCKED, so two
 * never send the same delivery at once.
 */
export class PostgresDeliveries implements DeliveryLedger {
  readonly #pool: pg.Pool;
  readonly #db: Db;
  readonly #s: Schema;

  constructor(pool: pg.Pool, s: Schema) {
    this.#pool = pool;
    this.#db = pool as unknown as Db;
    this.#s = s;
  }

  setWebhook(
    campaignId: string,
    config: WebhookConfig | null,
    audit: AuditEntry,
    backfill: boolean,
  ): Promise<number> {
    const s = this.#s;
    return inTransaction(this.#pool, async (db) => {
      let added = 0;
      if (config === null) {
        await sql.deleteWebhook(db, s, campaignId);
        await sql.setPendingDue(db, s, campaignId, true, audit.at);
      } else {
        await sql.upsertWebhook(db, s, campaignId, config);
        await sql.setPendingDue(db, s, campaignId, false, audit.at);
        if (backfill) added = await sql.backfillDeliveries(db, s, campaignId, audit.at);
      }
      await insertAudit(
        db,
        s,
        backfill ? { ...audit, details: { ...audit.details, backfilled: added } } : audit,
      );
      return added;
    });
  }

  getWebhook(campaignId: string): Promise<WebhookConfig | undefined> {
    return sql.getWebhook(this.#db, this.#s, campaignId);
  }

  async claimDue(now: number, limit: number, leaseUntil: number): Promise<DueDelivery[]> {
    return (await sql.leaseDue(this.#db, this.#s, now, limit, leaseUntil)).map(toDueDelivery);
  }

  nextDueAt(): Promise<number | undefined> {
    return sql.nextDueAt(this.#db, this.#s);
  }

  async markDelivered(claimIds: readonly string[], at: number): Promise<void> {
    if (claimIds.length > 0) await sql.markDelivered(this.#db, this.#s, claimIds, at);
  }

  async markFailed(failures: readonly DeliveryFailure[]): Promise<void> {
    if (failures.length > 0) await sql.markFailed(this.#db, this.#s, failures);
  }

  async listDead(campaignId: string, after: string, limit: number): Promise<DeliveryRecord[]> {
    return (await sql.listDead(this.#db, this.#s, campaignId, after, limit)).map(toDeliveryRecord);
  }

  deadCount(campaignId: string): Promise<number> {
    return sql.deadCount(this.#db, this.#s, campaignId);
  }

  replayDead(
    campaignId: string,
    deliveryIds: readonly string[] | undefined,
    now: number,
    audit: AuditEntry,
  ): Promise<number> {
    const claimIds = claimIdsToReplay(deliveryIds);
    return inTransaction(this.#pool, async (db) => {
      const replayed = await sql.replayDead(db, this.#s, campaignId, claimIds, now);
      await insertAudit(db, this.#s, { ...audit, details: { ...audit.details, replayed } });
      return replayed;
    });
  }
}
