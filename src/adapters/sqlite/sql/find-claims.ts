/**
 * Reading claims. Every query names the status it wants in the words of a
 * partial index's WHERE (migrations/0003_holds.sql): SQLite uses a partial
 * index only for a query that repeats its condition, as literals.
 */
import type { Claim } from "../../../domain/types.ts";
import type { LedgerCounts } from "../../../ports/ledger.ts";
import type { UnitClaimKey } from "../../ledger-common/keyset-pages.ts";
import { type ClaimRow, toClaim } from "../../ledger-common/rows.ts";
import { type Db, statement } from "./db.ts";

const claims = (rows: unknown[]): Claim[] => (rows as ClaimRow[]).map(toClaim);

export function findClaims(db: Db, claimIds: readonly string[]): Claim[] {
  const get = statement(db, "SELECT * FROM claims WHERE claim_id = ?");
  const found: Claim[] = [];
  for (const id of claimIds) {
    const row = get.get(id) as ClaimRow | undefined;
    if (row) found.push(toClaim(row));
  }
  return found;
}

/** Every claim of the user in the campaign, by seq, then admission (a slot given back is taken again). */
export function userClaims(db: Db, campaignId: string, userId: string): Claim[] {
  return claims(
    statement(
      db,
      `SELECT * FROM claims WHERE campaign_id = ?1 AND user_id = ?2 AND status IN ('held', 'issued')
       UNION ALL
       SELECT * FROM claims WHERE campaign_id = ?1 AND user_id = ?2 AND status IN ('expired', 'released')
       ORDER BY seq, admitted_at`,
    ).all(campaignId, userId),
  );
}

/** Active claims are counted on the unit index, held ones on theirs: issued is the difference. */
export function countClaims(db: Db, campaignId: string): LedgerCounts {
  const row = statement(
    db,
    `SELECT (SELECT count(*) FROM claims WHERE campaign_id = ?1 AND status IN ('held', 'issued')) AS active,
            (SELECT count(*) FROM claims WHERE campaign_id = ?1 AND status = 'held') AS held`,
  ).get(campaignId) as { active: number; held: number };
  return { issued: row.active - row.held, held: row.held };
}

/** One page of a campaign's active claims (held, issued) in unit order, after `afterUnit`. */
export function activeClaimsPage(db: Db, campaignId: string, afterUnit: number, limit: number): Claim[] {
  return claims(
    statement(
      db,
      `SELECT * FROM claims WHERE campaign_id = ? AND status IN ('held', 'issued') AND unit > ?
       ORDER BY unit LIMIT ?`,
    ).all(campaignId, afterUnit, limit),
  );
}

/**
 * One page of a campaign's final claims (issued, expired, released) in
 * (unit, claim id) order, after `after`: the issued ones on the active unit
 * index (where a unit has one claim), the ended ones on theirs, merged.
 */
export function finalClaimsPage(db: Db, campaignId: string, after: UnitClaimKey, limit: number): Claim[] {
  return claims(
    statement(
      db,
      `SELECT * FROM (
         SELECT * FROM (
           SELECT * FROM claims
           WHERE campaign_id = ?1 AND status IN ('held', 'issued') AND status = 'issued'
             AND unit >= ?2 AND (unit > ?2 OR claim_id > ?3)
           ORDER BY unit LIMIT ?4)
         UNION ALL
         SELECT * FROM (
           SELECT * FROM claims
           WHERE campaign_id = ?1 AND status IN ('expired', 'released')
             AND unit >= ?2 AND (unit > ?2 OR claim_id > ?3)
           ORDER BY unit, claim_id LIMIT ?4))
       ORDER BY unit, claim_id LIMIT ?4`,
    ).all(campaignId, after.unit, after.claimId, limit),
  );
}

/**
 * The claims that may stand in a refused snapshot's way: active claims on
 * its unit or user slot (when it would be inserted active), any claim with
 * its coupon code (ledger-common/snapshots.ts pickBlocker chooses).
 */
export function blockerCandidates(db: Db, snapshot: Claim, active: boolean): Claim[] {
  const found: Claim[] = [];
  if (active) {
    found.push(
      ...claims(
        statement(
          db,
          "SELECT * FROM claims WHERE campaign_id = ? AND unit = ? AND status IN ('held', 'issued')",
        ).all(snapshot.campaignId, snapshot.unit),
      ),
      ...claims(
        statement(
          db,
          `SELECT * FROM claims WHERE campaign_id = ? AND user_id = ? AND seq = ?
           AND status IN ('held', 'issued')`,
        ).all(snapshot.campaignId, snapshot.userId, snapshot.seq),
      ),
    );
  }
  found.push(...claims(statement(db, "SELECT * FROM claims WHERE coupon_code = ?").all(snapshot.couponCode)));
  return found;
}
