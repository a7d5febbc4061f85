import type { Campaign } from "../../../domain/types.ts";
import { type CampaignRow, toCampaign } from "../../ledger-common/rows.ts";
import { type Db, statement } from "./db.ts";

export function getCampaign(db: Db, id: string): Campaign | undefined {
  const row = statement(db, "SELECT * FROM campaigns WHERE id = ?").get(id) as CampaignRow | undefined;
  return row && toCampaign(row);
}

export function listCampaigns(db: Db): Campaign[] {
  const rows = statement(db, "SELECT * FROM campaigns ORDER BY created_at, id").all();
  return (rows as unknown as CampaignRow[]).map(toCampaign);
}
