import type { Campaign } from "../../../domain/types.ts";
import { waitingRoomColumns } from "../../ledger-common/rows.ts";
import { type Db, statement } from "./db.ts";

/** Creates a campaign, with its waiting room and draw seed if any, in one statement; false when the id is taken. */
export function insertCampaign(db: Db, c: Campaign): boolean {
  const result = statement(
    db,
    `INSERT INTO campaigns (id, name, stock, per_user_limit, starts_at, ends_at, created_at, hold_seconds,
       prequeue_seconds, release_per_second, draw_seed, shards)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
  ).run(
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
  );
  return result.changes === 1;
}
