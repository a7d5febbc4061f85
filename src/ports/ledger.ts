import type { Campaign, Claim } from "../domain/types.ts";

/**
 * Why the ledger refused a snapshot:
 * - taken: another claim holds its unit or its user slot (both only among
 *   active claims: held, issued) or its coupon code;
 * - final: the ledger holds the claim in a final state the snapshot
 *   contradicts (issued asked to expire or be released, expired or released
 *   asked to be issued, expired asked to be released or the reverse).
 */
export type ConflictReason = "taken" | "final";

export interface WriteConflict {
  /** The refused snapshot, as given. */
  snapshot: Claim;
  reason: ConflictReason;
  /**
   * The claim in the way, as the ledger holds it: the other claim (taken),
   * or this claim's own row (final). Absent when it was gone by the time the
   * ledger looked (freed by a concurrent write): a retry may succeed.
   */
  blocker?: Claim;
}

/** What Ledger.write() did with a batch of snapshots. */
export interface WriteResult {
  /**
   * One per claim whose snapshot the ledger applied, in batch order: the
   * claim as the ledger now holds it, in the state the snapshot leads to
   * (status held, issued, expired or released). That state is new (see
   * `changed`) or was there already (a redelivery).
   */
  written: Claim[];
  /** The claims of `written` whose row this call inserted or moved on: the changes to announce. */
  changed: Claim[];
  /**
   * Snapshots older than what the ledger holds (a hold's pending snapshot
   * after its confirmation or end was written): nothing to do; the claim as
   * the ledger holds it.
   */
  behind: Claim[];
  conflicts: WriteConflict[];
}

/** A campaign's claims in the ledger by state (LedgerCounts.issued is what the ledger has issued). */
export interface LedgerCounts {
  issued: number;
  /** Holds in the ledger, not confirmed. */
  held: number;
}

/**
 * The ledger seam: the durable truth (SQLite in embedded mode, PostgreSQL in
 * distributed mode; test/contracts/ledger.ts is what both must do).
 *
 * Everything on the queue is a claim snapshot (pending, issued, expired,
 * released), and write() applies them monotonically: a claim moves from held
 * to one final state (issued, expired, released) and never leaves it.
 *
 * | snapshot | absent                              | held        | issued                       | expired / released           |
 * |----------|-------------------------------------|-------------|------------------------------|------------------------------|
 * | pending  | insert held (holds) / issued (else) | =           | = (no holds) / behind (hold) | behind                       |
 * | issued   | insert issued                       | -> issued   | =                            | conflict                     |
 * | expired  | insert expired                      | -> expired  | conflict                     | = if expired, else conflict  |
 * | released | insert released                     | -> released | conflict                     | = if released, else conflict |
 *
 * ("=": no change, reported in `written`, a redelivery; "behind": reported
 * in `behind`; "conflict": reason final, the claim's row as blocker.) A
 * claim inserted active (held, issued) that collides with another active
 * claim on (campaign, unit) or (campaign, user, seq), or any claim inserted
 * with another's coupon code, is refused and reported as a conflict with the
 * claim in its way: the last guard against over-issue. issuedAt is the
 * write's `now` for a claim without holds, the snapshot's (the
 * confirmation's) for a hold; endedAt the snapshot's (else `now`).
 *
 * Each claim that reaches a final state in a campaign with a webhook gets its
 * outbox row (ports/delivery.ts) in the same transaction.
 */
export interface Ledger {
  migrate(): Promise<void>;
  /** false when a campaign with this id exists. */
  createCampaign(campaign: Campaign): Promise<boolean>;
  getCampaign(campaignId: string): Promise<Campaign | undefined>;
  listCampaigns(): Promise<Campaign[]>;

  /** Applies a batch of snapshots (see above); a queue may deliver a claim twice in one batch. */
  write(snapshots: readonly Claim[], now: number): Promise<WriteResult>;
  counts(campaignId: string): Promise<LedgerCounts>;
  /** counts().issued. */
  issuedCount(campaignId: string): Promise<number>;
  findClaim(claimId: string): Promise<Claim | undefined>;
  /** The user's claims in the campaign, every status, by seq then admission. */
  userClaims(campaignId: string, userId: string): Promise<Claim[]>;
  /**
   * The campaign's active claims (held, issued) in unit order, with their
   * status and expiresAt: what admission state is rebuilt from.
   */
  campaignClaims(campaignId: string): AsyncIterable<Claim>;
  /**
   * Every claim of a campaign that reached a final state (issued, expired,
   * released) in (unit, claimId) order (a unit given back by a hold is
   * handed out again), a page at a time, for the export (GET
   * /v1/campaigns/:id/export): memory holds one page however many claims
   * there are, and the caller may take its time between pages (the response
   * is written with backpressure).
   */
  exportClaims(campaignId: string): AsyncIterable<readonly Claim[]>;

  ping(): Promise<void>;
  close(): Promise<void>;
}
