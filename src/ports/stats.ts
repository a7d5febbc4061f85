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
  /** Campaigns with a waiting room only: its line. */
  line?: LineSummary;
}

/** A waiting room's line as the dashboard shows it. */
export interface LineSummary {
  /** The line's length: tickets waiting. */
  waiting: number;
  admitted: number;
  prequeued: number;
  soldOut: boolean;
  /** The room's setting; null: as fast as admission allows. */
  releasePerSecond: number | null;
  /** Tickets admitted a second lately, as seen (null until it moved). */
  observedPerSecond: number | null;
  /** The draw's commitment (hex SHA-256 of the seed). */
  drawCommitment: string;
}
