import type { Claim } from "../../../domain/types.ts";
import { type ClaimRow, toClaim } from "../../ledger-common/rows.ts";
import type { Transition } from "../../ledger-common/snapshots.ts";
import type { Schema } from "../schema.ts";
import { type Db, statement } from "./db.ts";

/**
 * Moves held claims to their final state (issued, expired, released) in one
 * statement: only a row still held moves (a concurrent move of the same
 * claim waits for the row lock, then finds it moved and skips it), so a
 * final state is never overwritten. Each moved claim of a campaign with a
 * webhook gets its outbox row in the same statement. Returns the claims
 * moved, as the ledger now holds them.
 */
export async function moveHeldClaims(
  db: Db,
  s: Schema,
  transitions: readonly Transition[],
  now: number,
): Promise<Claim[]> {
  const { rows } = await db.query<ClaimRow>(
    statement(
      "move-held-claims",
      s,
      `WITH moved AS (
         UPDATE ${s}.claims c SET status = t.status, issued_at = t.issued_at, ended_at = t.ended_at
         FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[]) AS t (claim_id, status, issued_at, ended_at)
         WHERE c.claim_id = t.claim_id AND c.status = 'held'
         RETURNING c.*
       ), outbox AS (
         INSERT INTO ${s}.deliveries (claim_id, event, campaign_id, next_attempt_at, created_at)
         SELECT m.claim_id, 'claim.' || m.status, m.campaign_id, $5, $5 FROM moved m
         WHERE EXISTS (SELECT 1 FROM ${s}.webhooks w WHERE w.campaign_id = m.campaign_id)
         ON CONFLICT DO NOTHING
       )
       SELECT * FROM moved`,
      [
        transitions.map((t) => t.claimId),
        transitions.map((t) => t.status),
        transitions.map((t) => t.issuedAt),
        transitions.map((t) => t.endedAt),
        now,
      ],
    ),
  );
  return rows.map(toClaim);
}
