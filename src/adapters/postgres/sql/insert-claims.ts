import type { Claim } from "../../../domain/types.ts";
import type { Schema } from "../schema.ts";
import { type Db, statement } from "./db.ts";

/**
 * Inserts claims the ledger lacks, as rows already decided
 * (ledger-common/snapshots.ts newRow), in ONE statement: the batch is passed
 * as arrays and unnested, and ON CONFLICT DO NOTHING skips every row that
 * collides with a key: its claim id (the ledger has the claim), an active
 * claim's unit or user slot, or a coupon code. In the same statement, each
 * inserted claim in a final state of a campaign with a webhook gets its
 * outbox row (docs/lifecycle.md): none misses its delivery, none is
 * announced before it is committed. Returns the ids actually inserted.
 */
export async function insertClaims(
  db: Db,
  s: Schema,
  rows: readonly Claim[],
  now: number,
): Promise<Set<string>> {
  const { rows: inserted } = await db.query<{ claim_id: string }>(
    statement(
      "insert-claims",
      s,
      `WITH inserted AS (
         INSERT INTO ${s}.claims
           (claim_id, campaign_id, user_id, seq, unit, coupon_code, admitted_at, issued_at, idempotency_key,
            status, expires_at, ended_at)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::int[], $6::text[],
                              $7::bigint[], $8::bigint[], $9::text[], $10::text[], $11::bigint[], $12::bigint[])
         ON CONFLICT DO NOTHING
         RETURNING claim_id, campaign_id, status
       ), outbox AS (
         INSERT INTO ${s}.deliveries (claim_id, event, campaign_id, next_attempt_at, created_at)
         SELECT i.claim_id, 'claim.' || i.status, i.campaign_id, $13, $13 FROM inserted i
         WHERE i.status <> 'held'
           AND EXISTS (SELECT 1 FROM ${s}.webhooks w WHERE w.campaign_id = i.campaign_id)
         ON CONFLICT DO NOTHING
       )
       SELECT claim_id FROM inserted`,
      [
        rows.map((c) => c.claimId),
        rows.map((c) => c.campaignId),
        rows.map((c) => c.userId),
        rows.map((c) => c.seq),
        rows.map((c) => c.unit),
        rows.map((c) => c.couponCode),
        rows.map((c) => c.admittedAt),
        rows.map((c) => c.issuedAt ?? null),
        rows.map((c) => c.idempotencyKey ?? null),
        rows.map((c) => c.status),
        rows.map((c) => c.expiresAt ?? null),
        rows.map((c) => c.endedAt ?? null),
        now,
      ],
    ),
  );
  return new Set(inserted.map((r) => r.claim_id));
}
