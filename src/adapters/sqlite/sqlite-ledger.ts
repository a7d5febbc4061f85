import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import type { Campaign, Claim } from "../../domain/types.ts";
import type { IssueResult, Ledger } from "../../ports/ledger.ts";
import { type CampaignRow, type ClaimRow, toCampaign, toClaim } from "../ledger-rows.ts";
import { SqliteDeliveries } from "./sqlite-deliveries.ts";
import { SqliteLifecycle } from "./sqlite-lifecycle.ts";

/**
 * The embedded ledger on node:sqlite (docs/embedded-ledger.md says why not
 * PGlite). WAL with synchronous=FULL: a commit returns after its WAL frames
 * are fsync'ed, so the journal may drop what a commit covers. node:sqlite is
 * synchronous: the embedded worker's issue() runs on a thread of its own
 * (threaded-issuer.ts) so that its inserts and fsyncs do not stop admission.
 */
const MIGRATIONS_DIR = new URL("./migrations/", import.meta.url);
/** Claims per page of campaignClaims(): bounded memory, and no statement held open across awaits. */
const PAGE = 1000;
/**
 * Claims per page of exportClaims(). Small pages die young in V8's nursery:
 * measured on a million rows, pages of 100 kept the process's RSS growth
 * under 50 MB where pages of 1000 let it reach twice that in uncollected
 * garbage.
 */
const EXPORT_PAGE = 128;

export class SqliteLedger implements Ledger {
  readonly #db: DatabaseSync;
  readonly #path: string;
  #statements: ReturnType<typeof prepare> | undefined;
  /** Lifecycle changes, audit trail and erasure (ports/lifecycle-ledger.ts), on the same connection. */
  readonly lifecycle: SqliteLifecycle;
  /** The webhook outbox (ports/delivery.ts), filled in issue()'s transaction. */
  readonly deliveries: SqliteDeliveries;

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this.#path = join(dataDir, "ledger.sqlite");
    this.#db = new DatabaseSync(this.#path);
    // busy_timeout: the embedded worker writes through a second connection on
    // its own thread (threaded-issuer.ts); a writer waits for the other's
    // transaction (milliseconds) instead of failing with SQLITE_BUSY.
    this.#db.exec(
      "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
    );
    this.lifecycle = new SqliteLifecycle(this.#db);
    this.deliveries = new SqliteDeliveries(this.#db, this.lifecycle);
  }

  /** The connection, for tests that fill the ledger in bulk. */
  get database(): DatabaseSync {
    return this.#db;
  }

  get #sql(): ReturnType<typeof prepare> {
    this.#statements ??= prepare(this.#db);
    return this.#statements;
  }

  async migrate(): Promise<void> {
    const db = this.#db;
    db.exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
    );
    const applied = new Set(
      (db.prepare("SELECT version FROM schema_migrations").all() as { version: number }[]).map(
        (r) => r.version,
      ),
    );
    const files = readdirSync(MIGRATIONS_DIR)
      .filter((f) => /^\d{4}_.*\.sql$/.test(f))
      .sort();
    for (const file of files) {
      const version = Number(file.slice(0, 4));
      if (applied.has(version)) continue;
      // One process owns the embedded ledger; the transaction still makes a
      // migration all-or-nothing across a crash.
      db.exec("BEGIN IMMEDIATE");
      try {
        db.exec(readFileSync(new URL(file, MIGRATIONS_DIR), "utf8"));
        db.prepare("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)").run(
          version,
          Date.now(),
        );
        db.exec("COMMIT");
      } catch (error) {
        db.exec("ROLLBACK");
        throw error;
      }
    }
  }

  async createCampaign(c: Campaign): Promise<boolean> {
    const result = this.#sql.insertCampaign.run(
      c.id,
      c.name,
      c.stock,
      c.perUserLimit,
      c.startsAt,
      c.endsAt,
      c.createdAt,
    );
    return result.changes === 1;
  }

  async getCampaign(campaignId: string): Promise<Campaign | undefined> {
    const row = this.#sql.getCampaign.get(campaignId) as CampaignRow | undefined;
    return row && toCampaign(row);
  }

  async listCampaigns(): Promise<Campaign[]> {
    return (this.#sql.listCampaigns.all() as unknown as CampaignRow[]).map(toCampaign);
  }

  async issue(claims: readonly Claim[], issuedAt: number): Promise<IssueResult> {
    const issued: Claim[] = [];
    const conflicts: Claim[] = [];
    const inserted: Claim[] = [];
    const sql = this.#sql;
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      for (const c of claims) {
        const result = sql.insertClaim.run(
          c.claimId,
          c.campaignId,
          c.userId,
          c.seq,
          c.unit,
          c.couponCode,
          c.admittedAt,
          issuedAt,
          c.idempotencyKey ?? null,
        );
        if (result.changes === 1) {
          const claim: Claim = { ...c, status: "issued", issuedAt };
          issued.push(claim);
          inserted.push(claim);
          continue;
        }
        // Nothing inserted: either this very claim is already in the ledger
        // (a redelivery), or another claim holds its unit or user slot.
        const existing = sql.getClaim.get(c.claimId) as ClaimRow | undefined;
        if (existing) issued.push(toClaim(existing));
        else conflicts.push(c);
      }
      // Webhook deliveries commit with their claims: none missed, none announced early.
      this.deliveries.enqueueIssued(inserted, issuedAt);
      this.#db.exec("COMMIT");
    } catch (error) {
      this.#db.exec("ROLLBACK");
      throw error;
    }
    return { issued, conflicts };
  }

  async issuedCount(campaignId: string): Promise<number> {
    return (this.#sql.countClaims.get(campaignId) as { n: number }).n;
  }

  async findClaim(claimId: string): Promise<Claim | undefined> {
    const row = this.#sql.getClaim.get(claimId) as ClaimRow | undefined;
    return row && toClaim(row);
  }

  async userClaims(campaignId: string, userId: string): Promise<Claim[]> {
    return (this.#sql.userClaims.all(campaignId, userId) as unknown as ClaimRow[]).map(toClaim);
  }

  /**
   * Keyset pages in unit order: memory stays at one page however large the
   * campaign (the export streams a million rows through this), and no
   * statement stays open while the caller awaits, so the worker's writes and
   * other readers go on undisturbed.
   */
  async *campaignClaims(campaignId: string): AsyncIterable<Claim> {
    let after = 0;
    for (;;) {
      const rows = this.#sql.campaignClaimsPage.all(campaignId, after, PAGE) as unknown as ClaimRow[];
      for (const row of rows) yield toClaim(row);
      if (rows.length < PAGE) return;
      after = rows.at(-1)!.unit;
    }
  }

  /**
   * On a read-only connection of its own: iterate() walks the unit index
   * without materialising the result, and in WAL mode this connection reads
   * one snapshot (the export is consistent) while the worker goes on writing
   * on the main one. A long export holds back WAL checkpoints until it ends;
   * closing the generator early (client gone) closes the connection.
   */
  async *exportClaims(campaignId: string): AsyncIterable<readonly Claim[]> {
    const reader = new DatabaseSync(this.#path, { readOnly: true });
    try {
      const rows = reader
        .prepare("SELECT * FROM claims WHERE campaign_id = ? ORDER BY unit")
        .iterate(campaignId);
      let page: Claim[] = [];
      for (const row of rows) {
        page.push(toClaim(row as unknown as ClaimRow));
        if (page.length === EXPORT_PAGE) {
          yield page;
          page = [];
        }
      }
      if (page.length > 0) yield page;
    } finally {
      reader.close();
    }
  }

  async ping(): Promise<void> {
    this.#db.prepare("SELECT 1").get();
  }

  async close(): Promise<void> {
    if (this.#db.isOpen) this.#db.close();
  }
}

function prepare(db: DatabaseSync) {
  const s = (sql: string): StatementSync => db.prepare(sql);
  return {
    insertCampaign: s(
      `INSERT INTO campaigns (id, name, stock, per_user_limit, starts_at, ends_at, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
    ),
    getCampaign: s("SELECT * FROM campaigns WHERE id = ?"),
    listCampaigns: s("SELECT * FROM campaigns ORDER BY created_at, id"),
    insertClaim: s(
      `INSERT INTO claims (claim_id, campaign_id, user_id, seq, unit, coupon_code, admitted_at, issued_at, idempotency_key)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
    ),
    getClaim: s("SELECT * FROM claims WHERE claim_id = ?"),
    countClaims: s("SELECT count(*) AS n FROM claims WHERE campaign_id = ?"),
    userClaims: s("SELECT * FROM claims WHERE campaign_id = ? AND user_id = ? ORDER BY seq"),
    campaignClaimsPage: s("SELECT * FROM claims WHERE campaign_id = ? AND unit > ? ORDER BY unit LIMIT ?"),
  };
}
