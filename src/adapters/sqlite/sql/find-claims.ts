import type { Claim } from "../../../domain/types.ts";
import { type ClaimRow, toClaim } from "../../ledger-common/rows.ts";
import { type Db, statement } from "./db.ts";

export function findClaims(db: Db, claimIds: readonly string[]): Claim[] {
  const get = statement(db, "SELECT * FROM claims WHERE claim_id = ?");
  const found: Claim[] = [];
  for (const id of claimIds) {
    const row = get.get(id) as ClaimRow | undefined;
    if (row) found.push(toClaim(row));
  }
  return found;
}

export function userClaims(db: Db, campaignId: string, userId: string): Claim[] {
  const rows = statement(db, "SELECT * FROM claims WHERE campaign_id = ? AND user_id = ? ORDER BY seq").all(
    campaignId,
    userId,
  );
  return (rows as unknown as ClaimRow[]).map(toClaim);
}

export function countClaims(db: Db, campaignId: string): number {
  return (
    statement(db, "SELECT count(*) AS n FROM claims WHERE campaign_id = ?").get(campaignId) as { n: number }
  ).n;
}

/** One page of a campaign's claims in unit order, after `afterUnit` (ledger-common/keyset-pages.ts). */
export function campaignClaimsPage(db: Db, campaignId: string, afterUnit: number, limit: number): Claim[] {
  const rows = statement(
    db,
    "SELECT * FROM claims WHERE campaign_id = ? AND unit > ? ORDER BY unit LIMIT ?",
  ).all(campaignId, afterUnit, limit);
  return (rows as unknown as ClaimRow[]).map(toClaim);
}
