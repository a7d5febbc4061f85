/**
 * Reading claims. Every query names the status it wants in the words of a
 * partial index's WHERE (migrations/0003_holds.sql), so the planner proves
 * the index applies.
 */
import type { Claim } from "../../../domain/types.ts";
import type { LedgerCounts } from "../../../ports/ledger.ts";
import type { UnitClaimKey } from "../../ledger-common/keyset-pages.ts";
import { type ClaimRow, toClaim } from "../../ledger-common/rows.ts";
import type { Schema } from "../schema.ts";
import { type Db, statement } from "./db.ts";

export async function findClaims(db: Db, s: Schema, claimIds: readonly string[]): Promise<Claim[]> {
  const { rows } = await db.query<ClaimRow>(
    statement("find-claims", s, `SELECT * FROM ${s}.claims WHERE claim_id = ANY($1::text[])`, [claimIds]),
  );
  return rows.map(toClaim);
}

/** Every claim of the user in the campaign, by seq, then admission (a slot given back is taken again). */
export async function userClaims(db: Db, s: Schema, campaignId: string, userId: string): Promise<Claim[]> {
  const { rows } = await db.query<ClaimRow>(
    statement(
      "user-claims",
      s,
      `SELECT * FROM ${s}.claims WHERE campaign_id = $1 AND user_id = $2 AND status IN ('held', 'issued')
       UNION ALL
       SELECT * FROM ${s}.claims WHERE campaign_id = $1 AND user_id = $2 AND status IN ('expired', 'released')
       ORDER BY seq, admitted_at`,
      [campaignId, userId],
    ),
  );
  return rows.map(toClaim);
}

/** Active claims are counted on the unit index, held ones on theirs: issued is the difference. */
export async function countClaims(db: Db, s: Schema, campaignId: string): Promise<LedgerCounts> {
  const { rows } = await db.query<{ active: number; held: number }>(
    statement(
      "count-claims",
      s,
      `SELECT
         (SELECT count(*)::int FROM ${s}.claims WHERE campaign_id = $1 AND status IN ('held', 'issued')) AS active,
         (SELECT count(*)::int FROM ${s}.claims WHERE campaign_id = $1 AND status = 'held') AS held`,
      [campaignId],
    ),
  );
  const row = rows[0] ?? { active: 0, held: 0 };
  return { issued: row.active - row.held, held: row.held };
}

/** One page of a campaign's active claims (held, issued) in unit order, after `afterUnit` (no cursor held open). */
export async function activeClaimsPage(
  db: Db,
  s: Schema,
  campaignId: string,
  afterUnit: number,
  limit: number,
): Promise<Claim[]> {
  const { rows } = await db.query<ClaimRow>(
    statement(
      "active-claims-page",
      s,
      `SELECT * FROM ${s}.claims WHERE campaign_id = $1 AND status IN ('held', 'issued') AND unit > $2
       ORDER BY unit LIMIT $3`,
      [campaignId, afterUnit, limit],
    ),
  );
  return rows.map(toClaim);
}

/**
 * One page of a campaign's final claims (issued, expired, released) in
 * (unit, claim id) order, after `after`: the issued ones on the active unit
 * index (where a unit has one claim), the ended ones on theirs, merged.
 */
export async function finalClaimsPage(
  db: Db,
  s: Schema,
  campaignId: string,
  after: UnitClaimKey,
  limit: number,
): Promise<Claim[]> {
  const { rows } = await db.query<ClaimRow>(
    statement(
      "final-claims-page",
      s,
      `(SELECT * FROM ${s}.claims
        WHERE campaign_id = $1 AND status IN ('held', 'issued') AND status = 'issued'
          AND unit >= $2 AND (unit > $2 OR claim_id > $3)
        ORDER BY unit LIMIT $4)
       UNION ALL
       (SELECT * FROM ${s}.claims
        WHERE campaign_id = $1 AND status IN ('expired', 'released') AND (unit, claim_id) > ($2, $3)
        ORDER BY unit, claim_id LIMIT $4)
       ORDER BY unit, claim_id LIMIT $4`,
      [campaignId, after.unit, after.claimId, limit],
    ),
  );
  return rows.map(toClaim);
}

/**
 * For refused snapshots, the claims that may stand in their way: active
 * claims on their unit or user slot (for those that would be inserted
 * active), any claim with their coupon code; by the refused claim's id
 * (ledger-common/snapshots.ts pickBlocker chooses).
 */
export async function blockerCandidates(
  db: Db,
  s: Schema,
  snapshots: readonly { claim: Claim; active: boolean }[],
): Promise<Map<string, Claim[]>> {
  const { rows } = await db.query<ClaimRow & { refused: string }>(
    statement(
      "blocker-candidates",
      s,
      `SELECT b.refused, c.*
       FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::int[], $6::text[], $7::bool[])
         AS b (refused, campaign_id, unit, user_id, seq, coupon_code, active)
       JOIN LATERAL (
         SELECT * FROM ${s}.claims c
         WHERE b.active AND c.campaign_id = b.campaign_id AND c.unit = b.unit AND c.status IN ('held', 'issued')
         UNION ALL
         SELECT * FROM ${s}.claims c
         WHERE b.active AND c.campaign_id = b.campaign_id AND c.user_id = b.user_id AND c.seq = b.seq
           AND c.status IN ('held', 'issued')
         UNION ALL
         SELECT * FROM ${s}.claims c WHERE c.coupon_code = b.coupon_code
       ) c ON true`,
      [
        snapshots.map((x) => x.claim.claimId),
        snapshots.map((x) => x.claim.campaignId),
        snapshots.map((x) => x.claim.unit),
        snapshots.map((x) => x.claim.userId),
        snapshots.map((x) => x.claim.seq),
        snapshots.map((x) => x.claim.couponCode),
        snapshots.map((x) => x.active),
      ],
    ),
  );
  const byRefused = new Map<string, Claim[]>();
  for (const { refused, ...row } of rows) {
    const list = byRefused.get(refused) ?? [];
    list.push(toClaim(row));
    byRefused.set(refused, list);
  }
  return byRefused;
}
