import type { Campaign } from "../../../domain/types.ts";
import { type CampaignRow, toCampaign } from "../../ledger-common/rows.ts";
import type { Schema } from "../schema.ts";
import { type Db, statement } from "./db.ts";

export async function getCampaign(db: Db, s: Schema, id: string): Promise<Campaign | undefined> {
  const { rows } = await db.query<CampaignRow>(
    statement("get-campaign", s, `SELECT * FROM ${s}.campaigns WHERE id = $1`, [id]),
  );
  return rows[0] && toCampaign(rows[0]);
}

export async function listCampaigns(db: Db, s: Schema): Promise<Campaign[]> {
  const { rows } = await db.query<CampaignRow>(
    statement("list-campaigns", s, `SELECT * FROM ${s}.campaigns ORDER BY created_at, id`, []),
  );
  return rows.map(toCampaign);
}
