import type { Claim } from "../../../domain/types.ts";
import { type ClaimRow, toClaim } from "../../ledger-common/rows.ts";
import type { Schema } from "../schema.ts";
import { type Db, statement } from "./db.ts";

export async function findClaims(db: Db, s: Schema, claimIds: readonly string[]): Promise<Claim[]> {
  const { rows } = await db.query<ClaimRow>(
    statement("find-claims", s, `SELECT * FROM ${s}.claims WHERE claim_id = ANY($1::text[])`, [claimIds]),
  );
  return rows.map(toClaim);
}

export async function userClaims(db: Db, s: Schema, campaignId: string, userId: string): Promise<Claim[]> {
  const { rows } = await db.query<ClaimRow>(
    statement(
      "user-claims",
      s,
      `SELECT * FROM ${s}.claims WHERE campaign_id = $1 AND user_id = $2 ORDER BY seq`,
      [campaignId, userId],
    ),
  );
  return rows.map(toClaim);
}

export async function countClaims(db: Db, s: Schema, campaignId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    statement("count-claims", s, `SELECT count(*)::int AS n FROM ${s}.claims WHERE campaign_id = $1`, [
      campaignId,
    ]),
  );
  return rows[0]?.n ?? 0;
}

/** One page of a campaign's claims in unit order, after `afterUnit` (keyset pagination, no cursor held open). */
export async function campaignClaimsPage(
  db: Db,
  s: Schema,
  campaignId: string,
  afterUnit: number,
  limit: number,
): Promise<Claim[]> {
  const { rows } = await db.query<ClaimRow>(
    statement(
      "campaign-claims-page",
      s,
      `SELECT * FROM ${s}.claims WHERE campaign_id = $1 AND unit > $2 ORDER BY unit LIMIT $3`,
      [campaignId, afterUnit, limit],
    ),
  );
  return rows.map(toClaim);
}
