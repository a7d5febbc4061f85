/**
 * The seam of GET /v1/admin/stats and the dashboard: each mode (and each
 * adapter in it) contributes named sections. The embedded mode adds "ledger"
 * and "journal"; a Redis adapter adds "redis" (src/adapters/redis/stats/memory.ts); a
 * Kafka or PostgreSQL adapter adds its own. A section that fails or is slow is
 * reported as `{ "error": ... }` without hiding the others: stats are read
 * while troubleshooting, when something is, by definition, wrong.
 */
export interface StatsSource {
  /** The section's key in the stats body: "ledger", "redis", "kafka", ... */
  readonly name: string;
  collect(): Promise<unknown>;
}

export interface CampaignStats {
  id: string;
  name: string;
  stock: number;
  issued: number;
  pending: number;
  /** Holds in the ledger not yet confirmed (0 without holds). */
  held: number;
  remaining: number;
  /** Campaigns with holds only. */
  holdSeconds?: number;
}
