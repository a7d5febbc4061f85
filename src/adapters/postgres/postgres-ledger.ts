import pg from "pg";
import type { Campaign, Claim } from "../../domain/types.ts";
import type { IssueResult, Ledger } from "../../ports/ledger.ts";
import { distinctClaims, issueOutcome, notInserted } from "../ledger-common/issue-outcome.ts";
import { eachClaim, keysetPages } from "../ledger-common/keyset-pages.ts";
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

export interface PostgresLedgerOptions {
  connectionString: string;
  schema: string;
  /** Pool size. */
  max?: number;
  /** Reports errors of idle pooled connections (e.g. the server restarted); they are never thrown. */
  onError?: (error: Error) => void;
}

/** Claims per page of campaignClaims() (the Redis rebuild reads every claim of a campaign). */
const PAGE = 5000;
/** Claims per page of exportClaims(): small pages keep a million-row export's memory flat (see the SQLite ledger). */
const EXPORT_PAGE = 500;
const INT8 = 20;

/**
 * The distributed mode's ledger on PostgreSQL (node-postgres pool). Each SQL
 * operation lives in its own module under sql/; this class only chooses and
 * combines them, with the logic both ledgers share (../ledger-common/). A
 * batch of claims is one INSERT (see sql/insert-claims.ts).
 */
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
    const batch = distinctClaims(claims);
    if (batch.length === 0) return { issued: [], conflicts: [] };
    const inserted = await insertClaims(this.#db, this.#s, batch, issuedAt);
    // Read in a statement of its own, so a concurrent worker's commit of the same claims is seen.
    const missing = notInserted(batch, inserted);
    const existing = missing.length > 0 ? await findClaims(this.#db, this.#s, missing) : [];
    return issueOutcome(batch, inserted, existing, issuedAt);
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

  campaignClaims(campaignId: string): AsyncIterable<Claim> {
    return eachClaim(this.#pages(campaignId, PAGE));
  }

  exportClaims(campaignId: string): AsyncIterable<readonly Claim[]> {
    return this.#pages(campaignId, EXPORT_PAGE);
  }

  #pages(campaignId: string, pageSize: number): AsyncIterable<readonly Claim[]> {
    return keysetPages(
      (after, limit) => campaignClaimsPage(this.#db, this.#s, campaignId, after, limit),
      pageSize,
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
