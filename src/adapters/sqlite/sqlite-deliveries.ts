import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { Claim } from "../../domain/types.ts";
import {
  claimIdOfDelivery,
  type DeliveryFailure,
  type DeliveryLedger,
  type DeliveryRecord,
  type DueDelivery,
  deliveryIdOf,
  type WebhookConfig,
} from "../../ports/delivery.ts";
import type { AuditEntry } from "../../ports/lifecycle-ledger.ts";
import { type ClaimRow, toClaim } from "../ledger-rows.ts";
import type { SqliteLifecycle } from "./sqlite-lifecycle.ts";
import { inTransaction } from "./transaction.ts";

/**
 * The embedded ledger's webhook outbox (see ports/delivery.ts). Pending rows
 * of a campaign whose webhook was removed are parked (due at PARKED, never
 * reached), so the dispatcher's due scan never wades through them; setting a
 * webhook again makes them due.
 */
const PARKED = Number.MAX_SAFE_INTEGER;

interface DeliveryRow {
  claim_id: string;
  campaign_id: string;
  state: DeliveryRecord["state"];
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  created_at: number;
  delivered_at: number | null;
}

const toRecord = (row: DeliveryRow): DeliveryRecord => ({
  deliveryId: deliveryIdOf(row.claim_id),
  claimId: row.claim_id,
  campaignId: row.campaign_id,
  state: row.state,
  attempts: row.attempts,
  nextAttemptAt: row.next_attempt_at,
  lastError: row.last_error,
  createdAt: row.created_at,
  deliveredAt: row.delivered_at,
});

export class SqliteDeliveries implements DeliveryLedger {
  readonly #db: DatabaseSync;
  readonly #lifecycle: SqliteLifecycle;
  #statements: ReturnType<typeof prepare> | undefined;

  constructor(db: DatabaseSync, lifecycle: SqliteLifecycle) {
    this.#db = db;
    this.#lifecycle = lifecycle;
  }

  get #sql(): ReturnType<typeof prepare> {
    this.#statements ??= prepare(this.#db);
    return this.#statements;
  }

  /** Inside the ledger's issue() transaction: a delivery for each new claim of a campaign with a webhook. */
  enqueueIssued(claims: readonly Claim[], now: number): void {
    const hooked = new Map<string, boolean>();
    for (const claim of claims) {
      let has = hooked.get(claim.campaignId);
      if (has === undefined) {
        has = this.#sql.hasWebhook.get(claim.campaignId) !== undefined;
        hooked.set(claim.campaignId, has);
      }
      if (has) this.#sql.enqueue.run(claim.claimId, claim.campaignId, now, now);
    }
  }

  async setWebhook(
    campaignId: string,
    config: WebhookConfig | null,
    audit: AuditEntry,
    backfill: boolean,
  ): Promise<number> {
    const sql = this.#sql;
    return inTransaction(this.#db, () => {
      let added = 0;
      if (config === null) {
        sql.deleteWebhook.run(campaignId);
        sql.park.run(PARKED, campaignId);
      } else {
        sql.upsertWebhook.run(campaignId, config.url, config.secret, config.updatedAt);
        sql.unpark.run(audit.at, PARKED, campaignId);
        if (backfill) added = Number(sql.backfill.run(audit.at, audit.at, campaignId).changes);
      }
      this.#lifecycle.insertAudit(
        backfill ? { ...audit, details: { ...audit.details, backfilled: added } } : audit,
      );
      return added;
    });
  }

  async getWebhook(campaignId: string): Promise<WebhookConfig | undefined> {
    const row = this.#sql.getWebhook.get(campaignId) as
      | { url: string; secret: string; updated_at: number }
      | undefined;
    return row && { url: row.url, secret: row.secret, updatedAt: row.updated_at };
  }

  async claimDue(now: number, limit: number, leaseUntil: number): Promise<DueDelivery[]> {
    const sql = this.#sql;
    return inTransaction(this.#db, () => {
      const rows = sql.due.all(now, limit) as unknown as (ClaimRow & {
        attempts: number;
        url: string;
        secret: string;
      })[];
      for (const row of rows) sql.lease.run(leaseUntil, row.claim_id);
      return rows.map((row) => ({
        deliveryId: deliveryIdOf(row.claim_id),
        claim: toClaim(row),
        attempt: row.attempts + 1,
        url: row.url,
        secret: row.secret,
      }));
    });
  }

  async nextDueAt(): Promise<number | undefined> {
    const row = this.#sql.nextDue.get(PARKED) as { t: number } | undefined;
    return row?.t;
  }

  async markDelivered(claimIds: readonly string[], at: number): Promise<void> {
    if (claimIds.length === 0) return;
    inTransaction(this.#db, () => {
      for (const id of claimIds) this.#sql.delivered.run(at, id);
    });
  }

  async markFailed(failures: readonly DeliveryFailure[]): Promise<void> {
    if (failures.length === 0) return;
    inTransaction(this.#db, () => {
      for (const f of failures) {
        const error = f.error.slice(0, 500);
        if (f.nextAttemptAt === null) this.#sql.dead.run(error, f.claimId);
        else this.#sql.retry.run(f.nextAttemptAt, error, f.claimId);
      }
    });
  }

  async listDead(campaignId: string, after: string, limit: number): Promise<DeliveryRecord[]> {
    return (this.#sql.listDead.all(campaignId, after, limit) as unknown as DeliveryRow[]).map(toRecord);
  }

  async deadCount(campaignId: string): Promise<number> {
    return (this.#sql.deadCount.get(campaignId) as { n: number }).n;
  }

  async replayDead(
    campaignId: string,
    deliveryIds: readonly string[] | undefined,
    now: number,
    audit: AuditEntry,
  ): Promise<number> {
    const sql = this.#sql;
    return inTransaction(this.#db, () => {
      let replayed = 0;
      if (deliveryIds === undefined) replayed = Number(sql.replayAll.run(now, campaignId).changes);
      else
        for (const id of deliveryIds) {
          const claimId = claimIdOfDelivery(id);
          if (claimId !== undefined) replayed += Number(sql.replayOne.run(now, claimId, campaignId).changes);
        }
      this.#lifecycle.insertAudit({ ...audit, details: { ...audit.details, replayed } });
      return replayed;
    });
  }
}

function prepare(db: DatabaseSync) {
  const s = (sql: string): StatementSync => db.prepare(sql);
  return {
    hasWebhook: s("SELECT 1 FROM webhooks WHERE campaign_id = ?"),
    enqueue: s(
      `INSERT INTO deliveries (claim_id, campaign_id, next_attempt_at, created_at)
       VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
    ),
    getWebhook: s("SELECT url, secret, updated_at FROM webhooks WHERE campaign_id = ?"),
    upsertWebhook: s(
      `INSERT INTO webhooks (campaign_id, url, secret, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (campaign_id) DO UPDATE SET url = excluded.url, secret = excluded.secret,
         updated_at = excluded.updated_at`,
    ),
    deleteWebhook: s("DELETE FROM webhooks WHERE campaign_id = ?"),
    park: s("UPDATE deliveries SET next_attempt_at = ? WHERE state = 'pending' AND campaign_id = ?"),
    unpark: s(
      `UPDATE deliveries SET next_attempt_at = ?
       WHERE state = 'pending' AND next_attempt_at = ? AND campaign_id = ?`,
    ),
    backfill: s(
      `INSERT INTO deliveries (claim_id, campaign_id, next_attempt_at, created_at)
       SELECT claim_id, campaign_id, ?, ? FROM claims WHERE campaign_id = ? ON CONFLICT DO NOTHING`,
    ),
    due: s(
      `SELECT c.*, d.attempts, w.url, w.secret
       FROM deliveries d
       JOIN claims c ON c.claim_id = d.claim_id
       JOIN webhooks w ON w.campaign_id = d.campaign_id
       WHERE d.state = 'pending' AND d.next_attempt_at <= ?
       ORDER BY d.next_attempt_at LIMIT ?`,
    ),
    lease: s("UPDATE deliveries SET attempts = attempts + 1, next_attempt_at = ? WHERE claim_id = ?"),
    // Ordered scan of the due index: stops at the first row whose campaign has a webhook.
    nextDue: s(
      `SELECT d.next_attempt_at AS t FROM deliveries d JOIN webhooks w ON w.campaign_id = d.campaign_id
       WHERE d.state = 'pending' AND d.next_attempt_at < ? ORDER BY d.next_attempt_at LIMIT 1`,
    ),
    delivered: s(
      `UPDATE deliveries SET state = 'delivered', delivered_at = ?, last_error = NULL
       WHERE claim_id = ? AND state = 'pending'`,
    ),
    retry: s(
      "UPDATE deliveries SET next_attempt_at = ?, last_error = ? WHERE claim_id = ? AND state = 'pending'",
    ),
    dead: s("UPDATE deliveries SET state = 'dead', last_error = ? WHERE claim_id = ? AND state = 'pending'"),
    listDead: s(
      `SELECT * FROM deliveries WHERE campaign_id = ? AND state = 'dead' AND claim_id > ?
       ORDER BY claim_id LIMIT ?`,
    ),
    deadCount: s("SELECT count(*) AS n FROM deliveries WHERE campaign_id = ? AND state = 'dead'"),
    replayAll: s(
      `UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = ?, last_error = NULL
       WHERE campaign_id = ? AND state = 'dead'`,
    ),
    replayOne: s(
      `UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = ?, last_error = NULL
       WHERE claim_id = ? AND campaign_id = ? AND state = 'dead'`,
    ),
  };
}
