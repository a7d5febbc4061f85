import pg from "pg";
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
import { migrate } from "./migrate.ts";
import { DEFAULT_TIMEOUTS, type PostgresLedgerOptions, poolDeadlines } from "./options.ts";
import { PostgresDeliveries } from "./postgres-deliveries.ts";
import { PostgresLifecycle } from "./postgres-lifecycle.ts";
import { quoteSchema, type Schema } from "./schema.ts";
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
import { nextRedisEpoch, type RedisEpochRow, redisEpochs } from "./sql/redis-epochs.ts";

export type { PostgresLedgerOptions } from "./options.ts";

/** Claims per page of campaignClaims() (the Redis rebuild reads every claim of a campaign). */
const PAGE = 5000;
/** Claims per page of exportClaims(): small pages keep a million-row export's memory flat (see the SQLite ledger). */
const EXPORT_PAGE = 500;
const INT8 = 20;

/**
 * The distributed mode's ledger on PostgreSQL (node-postgres pool). Each SQL
 * operation lives in its own module under sql/; this class only chooses and
 * combines them, with the logic both ledgers share (../ledger-common/). A
 * batch of snapshots is one INSERT (sql/insert-claims.ts), and one UPDATE
 * when it moves holds on (sql/move-held-claims.ts).
 */
export class PostgresLedger implements Ledger {
  readonly #pool: pg.Pool;
  readonly #db: Db;
  readonly #s: Schema;
  readonly #schemaName: string;
  /** Lifecycle changes, audit trail and erasure (ports/lifecycle-ledger.ts). */
  readonly lifecycle: PostgresLifecycle;
  /** The webhook outbox (ports/delivery.ts), filled by the statements that write claims. */
  readonly deliveries: PostgresDeliveries;
  readonly #holds = new HoldSecondsCache();

  constructor(options: PostgresLedgerOptions) {
    this.#s = quoteSchema(options.schema);
    this.#schemaName = options.schema;
    this.#pool = new pg.Pool({
      connectionString: options.connectionString,
      max: options.max ?? 8,
      // Every call has a deadline (options.ts): a hung server fails it, never holds it.
      ...poolDeadlines(options.timeouts ?? DEFAULT_TIMEOUTS),
      idleTimeoutMillis: 30_000,
      // Times are epoch milliseconds in bigint columns: far below 2^53, safe as numbers.
      types: {
        getTypeParser: ((oid: number, format?: string) =>
          oid === INT8 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as "text")) as never,
      },
    });
    this.#pool.on("error", (error) => options.onError?.(error));
    this.#db = this.#pool as unknown as Db;
    this.lifecycle = new PostgresLifecycle(this.#pool, this.#s);
    this.deliveries = new PostgresDeliveries(this.#pool, this.#s);
  }

  get pool(): pg.Pool {
    return this.#pool;
  }

  async migrate(): Promise<void> {
    await migrate(this.#pool, this.#s, this.#schemaName);
  }

  createCampaign(campaign: Campaign): Promise<boolean> {
    return insertCampaign(this.#db, this.#s, campaign);
  }

  getCampaign(campaignId: string): Promise<Campaign | undefined> {
    return getCampaign(this.#db, this.#s, campaignId);
  }

  listCampaigns(): Promise<Campaign[]> {
    return listCampaigns(this.#db, this.#s);
  }

  /**
   * Statements of their own, each atomic with its outbox rows, no
   * transaction around them: a statement sees what concurrent workers
   * committed before it. Moves of held claims come first, so a unit or slot
   * one frees is free for a claim of the same batch that reuses it; inserts
   * next; then moves again for final snapshots whose claim another worker
   * inserted held meanwhile (the insert waited for it, so this sees it).
   */
  async write(snapshots: readonly Claim[], now: number): Promise<WriteResult> {
    const { batch, contradictions } = distinctSnapshots(snapshots);
    if (batch.length === 0 && contradictions.length === 0)
      return { written: [], changed: [], behind: [], conflicts: [] };
    const unknown = this.#holds.unknown(batch);
    if (unknown.length > 0) this.#holds.remember(await holdSeconds(this.#db, this.#s, unknown));

    const applied = new Map<string, Claim>();
    const move = async (of: readonly Claim[]) => {
      const moves = of.map((s) => transitionOf(s, now)).filter((t): t is Transition => t !== undefined);
      if (moves.length === 0) return;
      for (const c of await moveHeldClaims(this.#db, this.#s, moves, now)) applied.set(c.claimId, c);
    };
    await move(batch);
    const rows = notIn(batch, applied).map((s) => newRow(s, this.#holds.of(s.campaignId), now));
    if (rows.length > 0) {
      const inserted = await insertClaims(this.#db, this.#s, rows, now);
      for (const row of rows) if (inserted.has(row.claimId)) applied.set(row.claimId, row);
    }
    await move(notIn(batch, applied));

    const rest = notIn(batch, applied);
    const existing =
      rest.length > 0
        ? await findClaims(
            this.#db,
            this.#s,
            rest.map((s) => s.claimId),
          )
        : [];
    const missing = notIn(rest, new Map(existing.map((c) => [c.claimId, c])));
    const blockers = new Map<string, Claim>();
    if (missing.length > 0) {
      const candidates = await blockerCandidates(
        this.#db,
        this.#s,
        missing.map((claim) => ({ claim, active: insertsActive(claim) })),
      );
      for (const s of missing) {
        const blocker = pickBlocker(s, candidates.get(s.claimId) ?? []);
        if (blocker) blockers.set(s.claimId, blocker);
      }
    }
    return writeOutcome(batch, contradictions, applied, existing, blockers);
  }

  counts(campaignId: string): Promise<LedgerCounts> {
    return countClaims(this.#db, this.#s, campaignId);
  }

  async issuedCount(campaignId: string): Promise<number> {
    return (await countClaims(this.#db, this.#s, campaignId)).issued;
  }

  async findClaim(claimId: string): Promise<Claim | undefined> {
    return (await findClaims(this.#db, this.#s, [claimId]))[0];
  }

  userClaims(campaignId: string, userId: string): Promise<Claim[]> {
    return userClaims(this.#db, this.#s, campaignId, userId);
  }

  campaignClaims(campaignId: string): AsyncIterable<Claim> {
    return activeClaimsByUnit(
      (afterUnit, limit) => activeClaimsPage(this.#db, this.#s, campaignId, afterUnit, limit),
      PAGE,
    );
  }

  exportClaims(campaignId: string): AsyncIterable<readonly Claim[]> {
    return finalClaimPages(
      (after, limit) => finalClaimsPage(this.#db, this.#s, campaignId, after, limit),
      EXPORT_PAGE,
    );
  }

  nextRedisEpoch(campaignId: string): Promise<number> {
    return nextRedisEpoch(this.#db, this.#s, campaignId);
  }

  redisEpochs(): Promise<RedisEpochRow[]> {
    return redisEpochs(this.#db, this.#s);
  }

  async ping(): Promise<void> {
    await this.#pool.query("SELECT 1");
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
}
