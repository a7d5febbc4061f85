import type { Schema } from "../schema.ts";
import { type Db, statement } from "./db.ts";

/** Takes the next Redis epoch of a campaign (the fencing token of one rebuild). */
export async function nextRedisEpoch(db: Db, s: Schema, campaignId: string): Promise<number> {
  const { rows } = await db.query<{ epoch: number }>(
    statement(
      "next-redis-epoch",
      s,
      `INSERT INTO ${s}.redis_epochs AS e (campaign_id, epoch) VALUES ($1, 1)
       ON CONFLICT (campaign_id) DO UPDATE SET epoch = e.epoch + 1, updated_at = now()
       RETURNING epoch`,
      [campaignId],
    ),
  );
  return rows[0]!.epoch;
}

export interface RedisEpochRow {
  campaignId: string;
  epoch: number;
  /** Highest unit the ledger holds for the campaign (0 when none). */
  maxUnit: number;
  /** When the campaign ends (or was closed): retired campaigns have no Redis state (retention.ts). */
  endsAt: number | null;
}

/** Every campaign's current epoch and highest unit handed out: what a healthy Redis must match. */
export async function redisEpochs(db: Db, s: Schema): Promise<RedisEpochRow[]> {
  const { rows } = await db.query<{
    campaign_id: string;
    epoch: number;
    max_unit: number | null;
    ends_at: number | null;
  }>(
    statement(
      "redis-epochs",
      s,
      `SELECT e.campaign_id, e.epoch, k.ends_at,
              GREATEST(
                (SELECT max(c.unit) FROM ${s}.claims c
                 WHERE c.campaign_id = e.campaign_id AND c.status IN ('held', 'issued')),
                (SELECT max(c.unit) FROM ${s}.claims c
                 WHERE c.campaign_id = e.campaign_id AND c.status IN ('expired', 'released'))) AS max_unit
       FROM ${s}.redis_epochs e JOIN ${s}.campaigns k ON k.id = e.campaign_id`,
      [],
    ),
  );
  return rows.map((r) => ({
    campaignId: r.campaign_id,
    epoch: r.epoch,
    maxUnit: r.max_unit ?? 0,
    endsAt: r.ends_at,
  }));
}
