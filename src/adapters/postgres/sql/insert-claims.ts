import type { Claim } from "../../../domain/types.ts";
import type { Schema } from "../schema.ts";
import { type Db, statement } from "./db.ts";

/**
 * Writes a batch of claims in ONE statement: the batch is passed as arrays
 * and unnested, and ON CONFLICT DO NOTHING skips every row that collides
 * with a unique key. In the same statement, each new claim of a campaign
 * with a webhook gets its outbox row (docs/lifecycle.md): no issued claim
 * misses its delivery, none is announced before it is committed. Returns
 * the ids actually inserted; the caller tells
 * redeliveries (the same claim is there) from conflicts (another claim holds
 * the unit, the user slot or the code).
 */
export async function insertClaims(
  db: Db,
  s: Schema,
  claims: readonly Claim[],
  issuedAt: number,
): Promise<Set<string>> {
  const { rows } = await db.query<{ claim_id: string }>(
    statement(
      "insert-claims",
      s,
      `WITH inserted AS (
         INSERT INTO ${s}.claims
           (claim_id, campaign_id, user_id, seq, unit, coupon_code, admitted_at, issued_at, idempotency_key)
         SELECT claim_id, campaign_id, user_id, seq, unit, coupon_code, admitted_at, $9, idempotency_key
         FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::int[], $6::text[], $7::bigint[], $8::text[])
           AS batch (claim_id, campaign_id, user_id, seq, unit, coupon_code, admitted_at, idempotency_key)
         ON CONFLICT DO NOTHING
         RETURNING claim_id, campaign_id
       ), outbox AS (
         INSERT INTO ${s}.deliveries (claim_id, campaign_id, next_attempt_at, created_at)
         SELECT i.claim_id, i.campaign_id, $9, $9 FROM inserted i
         WHERE EXISTS (SELECT 1 FROM ${s}.webhooks w WHERE w.campaign_id = i.campaign_id)
         ON CONFLICT DO NOTHING
       )
       SELECT claim_id FROM inserted`,
      [
        claims.map((c) => c.claimId),
        claims.map((c) => c.campaignId),
        claims.map((c) => c.userId),
        claims.map((c) => c.seq),
        claims.map((c) => c.unit),
        claims.map((c) => c.couponCode),
        claims.map((c) => c.admittedAt),
        claims.map((c) => c.idempotencyKey ?? null),
        issuedAt,
      ],
    ),
  );
  return new Set(rows.map((r) => r.claim_id));
}
