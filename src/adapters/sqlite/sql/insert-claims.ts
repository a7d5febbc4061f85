import type { Claim } from "../../../domain/types.ts";
import { type Db, statement } from "./db.ts";

/**
 * Writes a batch of claims, each with one prepared INSERT (about a
 * microsecond each: SQLite gains nothing from one statement per batch), and
 * ON CONFLICT DO NOTHING skips every row that collides with a unique key.
 * Each new claim of a campaign with a webhook gets its outbox row
 * (docs/lifecycle.md). Run inside the caller's transaction, so no issued
 * claim misses its delivery and none is announced before it is committed.
 * Returns the ids actually inserted; the caller tells redeliveries from
 * conflicts (ledger-common/issue-outcome.ts).
 */
export function insertClaims(db: Db, claims: readonly Claim[], issuedAt: number): Set<string> {
  const insert = statement(
    db,
    `INSERT INTO claims
       (claim_id, campaign_id, user_id, seq, unit, coupon_code, admitted_at, issued_at, idempotency_key)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
  );
  const inserted = new Set<string>();
  const hooked = new Map<string, boolean>();
  for (const c of claims) {
    const { changes } = insert.run(
      c.claimId,
      c.campaignId,
      c.userId,
      c.seq,
      c.unit,
      c.couponCode,
      c.admittedAt,
      issuedAt,
      c.idempotencyKey ?? null,
    );
    if (changes !== 1) continue;
    inserted.add(c.claimId);
    let hasWebhook = hooked.get(c.campaignId);
    if (hasWebhook === undefined) {
      hasWebhook =
        statement(db, "SELECT 1 FROM webhooks WHERE campaign_id = ?").get(c.campaignId) !== undefined;
      hooked.set(c.campaignId, hasWebhook);
    }
    if (hasWebhook)
      statement(
        db,
        `INSERT INTO deliveries (claim_id, campaign_id, next_attempt_at, created_at)
         VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
      ).run(c.claimId, c.campaignId, issuedAt, issuedAt);
  }
  return inserted;
}
