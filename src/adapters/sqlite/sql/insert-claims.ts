import type { Claim } from "../../../domain/types.ts";
import { type Db, statement } from "./db.ts";
import { addDeliveries } from "./deliveries.ts";

/**
 * Inserts claims the ledger lacks, as rows already decided
 * (ledger-common/snapshots.ts newRow), each with one prepared INSERT (about
 * a microsecond each: SQLite gains nothing from one statement per batch).
 * ON CONFLICT DO NOTHING skips every row that collides with a key: its claim
 * id (the ledger has the claim), an active claim's unit or user slot, or a
 * coupon code. Each inserted claim in a final state gets its outbox row
 * (docs/lifecycle.md). Run inside the caller's transaction, so no final
 * claim misses its delivery and none is announced before it is committed.
 * Returns the ids actually inserted.
 */
export function insertClaims(db: Db, rows: readonly Claim[], now: number): Set<string> {
  const insert = statement(
    db,
    `INSERT INTO claims
       (claim_id, campaign_id, user_id, seq, unit, coupon_code, admitted_at, issued_at, idempotency_key,
        status, expires_at, ended_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
  );
  const inserted = new Set<string>();
  const final: Claim[] = [];
  for (const c of rows) {
    const { changes } = insert.run(
      c.claimId,
      c.campaignId,
      c.userId,
      c.seq,
      c.unit,
      c.couponCode,
      c.admittedAt,
      c.issuedAt ?? null,
      c.idempotencyKey ?? null,
      c.status,
      c.expiresAt ?? null,
      c.endedAt ?? null,
    );
    if (changes !== 1) continue;
    inserted.add(c.claimId);
    if (c.status !== "held") final.push(c);
  }
  addDeliveries(db, final, now);
  return inserted;
}
