import type { Campaign } from "../../../domain/types.ts";
import { type Db, statement } from "./db.ts";

/** Creates a campaign; false when the id is taken. */
export function insertCampaign(db: Db, c: Campaign): boolean {
  const result = statement(
    db,
    `INSERT INTO campaigns (id, name, stock, per_user_limit, starts_at, ends_at, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
  ).run(c.id, c.name, c.stock, c.perUserLimit, c.startsAt, c.endsAt, c.createdAt);
  return result.changes === 1;
}
