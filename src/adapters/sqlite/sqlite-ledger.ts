import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import type { Campaign, Claim } from "../../domain/types.ts";
import type { Ledger, LedgerCounts, WriteResult } from "../../ports/ledger.ts";
import { activeClaimsByUnit, finalClaimPages } from "../ledger-common/keyset-pages.ts";
import {
  distinctSnapshots,
  HoldSecondsCache,
  insertsActive,
  newRow,
  notIn,
  pickBlocker,
  type Transition,
  transitionOf,
  writeOutcome,
} from "../ledger-common/snapshots.ts";
import { type Migration, readMigrations } from "../migration-files.ts";
import { migrate } from "./migrate.ts";
import type { Db } from "./sql/db.ts";
import {
  activeClaimsPage,
  blockerCandidates,
  countClaims,
  finalClaimsPage,
  findClaims,
  userClaims,
} from "./sql/find-claims.ts";
import { getCampaign, holdSeconds, listCampaigns } from "./sql/get-campaigns.ts";
import { insertCampaign } from "./sql/insert-campaign.ts";
import { insertClaims } from "./sql/insert-claims.ts";
import { moveHeldClaims } from "./sql/move-held-claims.ts";
import { inTransaction } from "./sql/transaction.ts";
import { SqliteDeliveries } from "./sqlite-deliveries.ts";
import { SqliteLifecycle } from "./sqlite-lifecycle.ts";
import { SqliteTickets } from "./sqlite-tickets.ts";

const MIGRATIONS_DIR = new URL("./migrations/", import.meta.url);

/** The embedded ledger's migrations, as this build ships them. */
export function ledgerMigrations(): Migration[] {
  return readMigrations(MIGRATIONS_DIR);
}

/** Claims per page of campaignClaims() (the rebuild at start reads every claim). */
const PAGE = 1000;
/**
 * Claims per page of exportClaims(). Small pages die young in V8's nursery:
 * measured on a million rows, pages of 100 kept the process's RSS growth
 * under 50 MB where pages of 1000 let it reach twice that in uncollected
 * garbage.
 */
const EXPORT_PAGE = 128;

/**
 * The embedded ledger on node:sqlite (docs/embedded-ledger.md says why not
 * PGlite), in DATA_DIR/ledger.sqlite. Shaped like the PostgreSQL ledger: each
 * SQL operation lives in its own module under sql/; this class only chooses
 * and combines them, with the logic both ledgers share (../ledger-common/).
 *
 * WAL with synchronous=FULL: a commit returns after its WAL frames are
 * fsync'ed, so the journal may drop what a commit covers. node:sqlite is
 * synchronous: the embedded worker's write() runs on a thread of its own
 * (threaded-issuer.ts) so that its inserts and fsyncs do not stop admission.
 */
export class SqliteLedger implements Ledger {
  readonly #db: Db;
  readonly #path: string;
  /** Lifecycle changes, audit trail and erasure (ports/lifecycle-ledger.ts), on the same connection. */
  readonly lifecycle: SqliteLifecycle;
  /** The webhook outbox (ports/delivery.ts), filled in write()'s transaction. */
  readonly deliveries: SqliteDeliveries;
  /** The waiting rooms' tickets (ports/ticket-ledger.ts), on the same connection. */
  readonly tickets: SqliteTickets;
  readonly #holds = new HoldSecondsCache();

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this.#path = join(dataDir, "ledger.sqlite");
    this.#db = new DatabaseSync(this.#path);
    // busy_timeout, first: the embedded worker writes through a second
    // connection on its own thread (threaded-issuer.ts), and `stampede
    // migrate` may open the file while a server runs; a writer waits for the
    // other's transaction (milliseconds) instead of failing with SQLITE_BUSY.
    this.#db.exec(
      "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
    );
    this.lifecycle = new SqliteLifecycle(this.#db);
    this.deliveries = new SqliteDeliveries(this.#db);
    this.tickets = new SqliteTickets(this.#db);
  }

  /** The connection, for tests that fill the ledger in bulk. */
  get database(): DatabaseSync {
    return this.#db;
  }

  async migrate(): Promise<void> {
    migrate(this.#db, ledgerMigrations());
  }

  async createCampaign(campaign: Campaign): Promise<boolean> {
    return insertCampaign(this.#db, campaign);
  }

  async getCampaign(campaignId: string): Promise<Campaign | undefined> {
    return getCampaign(this.#db, campaignId);
  }

  async listCampaigns(): Promise<Campaign[]> {
    return listCampaigns(this.#db);
  }

  /**
   * One transaction: the snapshots, their outbox rows and the lookups commit
   * together. Moves of held claims come first, so a unit or slot one frees is
   * free for a claim of the same batch that reuses it.
   */
  async write(snapshots: readonly Claim[], now: number): Promise<WriteResult> {
    const { batch, contradictions } = distinctSnapshots(snapshots);
    if (batch.length === 0 && contradictions.length === 0)
      return { written: [], changed: [], behind: [], conflicts: [] };
    return inTransaction(this.#db, (db) => {
      this.#holds.remember(holdSeconds(db, this.#holds.unknown(batch)));
      const applied = new Map<string, Claim>();
      const moves = batch.map((s) => transitionOf(s, now)).filter((t): t is Transition => t !== undefined);
      for (const c of moveHeldClaims(db, moves, now)) applied.set(c.claimId, c);
      const rows = notIn(batch, applied).map((s) => newRow(s, this.#holds.of(s.campaignId), now));
      const inserted = insertClaims(db, rows, now);
      for (const row of rows) if (inserted.has(row.claimId)) applied.set(row.claimId, row);
      const rest = notIn(batch, applied);
      const existing = findClaims(
        db,
        rest.map((s) => s.claimId),
      );
      const found = new Map(existing.map((c) => [c.claimId, c]));
      const blockers = new Map<string, Claim>();
      for (const s of notIn(rest, found)) {
        const blocker = pickBlocker(s, blockerCandidates(db, s, insertsActive(s)));
        if (blocker) blockers.set(s.claimId, blocker);
      }
      return writeOutcome(batch, contradictions, applied, existing, blockers);
    });
  }

  async counts(campaignId: string): Promise<LedgerCounts> {
    return countClaims(this.#db, campaignId);
  }

  async issuedCount(campaignId: string): Promise<number> {
    return countClaims(this.#db, campaignId).issued;
  }

  async findClaim(claimId: string): Promise<Claim | undefined> {
    return findClaims(this.#db, [claimId])[0];
  }

  async userClaims(campaignId: string, userId: string): Promise<Claim[]> {
    return userClaims(this.#db, campaignId, userId);
  }

  campaignClaims(campaignId: string): AsyncIterable<Claim> {
    return activeClaimsByUnit(
      (afterUnit, limit) => activeClaimsPage(this.#db, campaignId, afterUnit, limit),
      PAGE,
    );
  }

  /**
   * On a read-only connection of its own, in one read transaction: in WAL
   * mode it reads one snapshot (the export is consistent) while the worker
   * goes on writing. A long export holds back WAL checkpoints until it ends;
   * closing the generator early (client gone) closes the connection.
   */
  async *exportClaims(campaignId: string): AsyncIterable<readonly Claim[]> {
    const reader = new DatabaseSync(this.#path, { readOnly: true });
    try {
      reader.exec("BEGIN");
      yield* finalClaimPages(
        (after, limit) => finalClaimsPage(reader, campaignId, after, limit),
        EXPORT_PAGE,
      );
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
