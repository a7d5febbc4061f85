import type { Campaign } from "../../../domain/types.ts";
import { waitingRoomColumns } from "../../ledger-common/rows.ts";
import type { Schema } from "../schema.ts";
import { type Db, statement } from "./db.ts";

/**
 * Creates a campaign (with its waiting room and draw seed if any) and its
 * Redis epoch row in one statement; false when the id is taken.
 */
export async function insertCampaign(db: Db, s: Schema, c: Campaign): Promise<boolean> {
  const result = await db.query(
    statement(
      "insert-campaign",
      s,
      `WITH created AS (
         INSERT INTO ${s}.campaigns (id, name, stock, per_user_limit, starts_at, ends_at, created_at, hold_seconds,
           prequeue_seconds, release_per_second, draw_seed, shards)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         ON CONFLICT DO NOTHING
         RETURNING id
       )
       INSERT INTO ${s}.redis_epochs (campaign_id) SELECT id FROM created RETURNING campaign_id`,
      [
        c.id,
        c.name,
        c.stock,
        c.perUserLimit,
        c.startsAt,
        c.endsAt,
        c.createdAt,
        c.holdSeconds ?? null,
        ...waitingRoomColumns(c),
        c.shards ?? 1,
      ],
    ),
  );
  return result.rowCount === 1;
}
