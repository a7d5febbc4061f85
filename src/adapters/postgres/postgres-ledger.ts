import pg from "pg";
import type { Campaign, Claim } from "../../domain/types.ts";
import type { IssueResult, Ledger } from "../../ports/ledger.ts";
import { migrate } from "./migrate.ts";
import { PostgresDeliveries } from "./postgres-deliveries.ts";
import { PostgresLifecycle } from "./postgres-lifecycle.ts";
import { quoteSchema, type Schema } from "./schema.ts";
import type { Db } from "./sql/db.ts";
import { campaignClaimsPage, countClaims, findClaims, userClaims } from "./sql/find-claims.ts";
import { getCampaign, listCampaigns } from "./sql/get-campaigns.ts";
import { insertCampaign } from "./sql/insert-campaign.ts";
import { insertClaims } from "./sql/insert-claims.ts";
import { nextRedisEpoch, type RedisEpochRow, redisEpochs } from "./sql/redis-epochs.ts";

/**
 * The distributed mode's ledger on PostgreSQL (node-postgres pool). Each SQL
 * operation lives in its own module under sql/; this class only chooses and
 * combines them. A batch of claims is one INSERT (see sql/insert-claims.ts).
 */
export interface PostgresLedgerOptions {
  connectionString: string;
  schema: string;
  /** Pool size. */
  max?: number;
  /** Reports errors of idle pooled connections (e.g. the server restarted); they are never thrown. */
  onError?: (error: Error) => void;
}

const PAGE = 5000;
/** Claims per page of exportClaims(): small pages keep a million-row export's memory flat (see the SQLite ledger). */
const EXPORT_PAGE = 500;
const INT8 = 20;

export class PostgresLedger implements Ledger {
  readonly #pool: pg.Pool;
  readonly #db: Db;
  readonly #s: Schema;
  readonly #schemaName: string;
  /** Lifecycle changes, audit trail and erasure (ports/lifecycle-ledger.ts). */
  readonly lifecycle: PostgresLifecycle;
  /** The webhook outbox (ports/delivery.ts), filled by insertClaims' statement. */
  readonly deliveries: PostgresDeliveries;

  constructor(options: PostgresLedgerOptions) {
    this.#s = quoteSchema(options.schema);
    this.#schemaName = options.schema;
    this.#pool = new pg.Pool({
      connectionString: options.connectionString,
      max: options.max ?? 8,
      connectionTimeoutMillis: 5000,
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

  async issue(claims: readonly Claim[], issuedAt: number): Promise<IssueResult> {
    const unique = [...new Map(claims.map((c) => [c.claimId, c])).values()];
    if (unique.length === 0) return { issued: [], conflicts: [] };
    const inserted = await insertClaims(this.#db, this.#s, unique, issuedAt);
    const issued: Claim[] = [];
    const missing: Claim[] = [];
    for (const c of unique) {
      if (inserted.has(c.claimId)) issued.push({ ...c, status: "issued", issuedAt });
      else missing.push(c);
    }
    const conflicts: Claim[] = [];
    if (missing.length > 0) {
      // Not inserted: either this very claim is in the ledger (a redelivery;
      // read in a new statement, so a concurrent worker's commit is seen), or
      // another claim holds its unit, user slot or code.
      const existing = new Map(
        (
          await findClaims(
            this.#db,
            this.#s,
            missing.map((c) => c.claimId),
          )
        ).map((c) => [c.claimId, c]),
      );
      for (const c of missing) {
        const row = existing.get(c.claimId);
        if (row) issued.push(row);
        else conflicts.push(c);
      }
    }
    return { issued, conflicts };
  }

  issuedCount(campaignId: string): Promise<number> {
    return countClaims(this.#db, this.#s, campaignId);
  }

  async findClaim(claimId: string): Promise<Claim | undefined> {
    return (await findClaims(this.#db, this.#s, [claimId]))[0];
  }

  userClaims(campaignId: string, userId: string): Promise<Claim[]> {
    return userClaims(this.#db, this.#s, campaignId, userId);
  }

  async *campaignClaims(campaignId: string): AsyncIterable<Claim> {
    let after = 0;
    for (;;) {
      const page = await campaignClaimsPage(this.#db, this.#s, campaignId, after, PAGE);
      yield* page;
      if (page.length < PAGE) return;
      after = page.at(-1)!.unit;
    }
  }

  /** Keyset pages in unit order: no transaction or cursor held open while the client reads slowly. */
  async *exportClaims(campaignId: string): AsyncIterable<readonly Claim[]> {
    let after = 0;
    for (;;) {
      const page = await campaignClaimsPage(this.#db, this.#s, campaignId, after, EXPORT_PAGE);
      if (page.length > 0) yield page;
      if (page.length < EXPORT_PAGE) return;
      after = page.at(-1)!.unit;
    }
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
