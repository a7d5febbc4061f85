import type { Claim } from "../../../domain/types.ts";
import { type ClaimRow, toClaim } from "../../ledger-common/rows.ts";
import type { Transition } from "../../ledger-common/snapshots.ts";
import { type Db, statement } from "./db.ts";
import { addDeliveries } from "./deliveries.ts";

/**
 * Moves held claims to their final state (issued, expired, released): only a
 * row still held moves, so a final state is never overwritten. Each moved
 * claim gets its outbox row. Inside the caller's transaction. Returns the
 * claims moved, as the ledger now holds them.
 */
export function moveHeldClaims(db: Db, transitions: readonly Transition[], now: number): Claim[] {
  const move = statement(
    db,
    `UPDATE claims SET status = ?, issued_at = ?, ended_at = ?
     WHERE claim_id = ? AND status = 'held' RETURNING *`,
  );
  const moved: Claim[] = [];
  for (const t of transitions) {
    const row = move.get(t.status, t.issuedAt, t.endedAt, t.claimId) as ClaimRow | undefined;
    if (row) moved.push(toClaim(row));
  }
  addDeliveries(db, moved, now);
  return moved;
}
