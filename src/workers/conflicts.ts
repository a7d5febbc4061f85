/**
 * The claim worker's answer to a snapshot the ledger refused.
 *
 * Per campaign, the journal (embedded) and a Kafka partition are ordered: a
 * unit's freeing snapshot (its hold expired or was released) is written
 * before the claim that reuses the unit. Redis Streams with several workers
 * is not: the reusing claim may reach the ledger first, which refuses it
 * because the ledger still holds the old hold on that unit (or user slot).
 * Admission knows better. For each refused snapshot the worker asks the
 * admission store for the current state of the refused claim and of the
 * claim that blocks it (the ledger names it):
 *
 * - a blocker the ledger holds as held and admission knows as expired or
 *   released is written as such (its own snapshot, early);
 * - a refused pending snapshot whose claim admission already knows as final
 *   (confirmed, expired, released) is replaced by that newer state;
 * - then the refused snapshots are written again, once.
 *
 * A conflict that survives, or that nothing above could change, means
 * admission state was wrong: the caller logs it.
 */
import { type Claim, isFinal } from "../domain/types.ts";
import type { AdmissionStore } from "../ports/admission.ts";
import type { WriteConflict, WriteResult } from "../ports/ledger.ts";

export interface ConflictResolver {
  write(snapshots: readonly Claim[]): Promise<WriteResult>;
  admission: Pick<AdmissionStore, "getClaim">;
}

const EMPTY: WriteResult = { written: [], changed: [], behind: [], conflicts: [] };

const freed = (claim: Claim | undefined): claim is Claim =>
  claim !== undefined && (claim.status === "expired" || claim.status === "released");

/** `result` with its conflicts resolved where admission allows: the writes made meanwhile are merged in. */
export async function resolveConflicts(result: WriteResult, r: ConflictResolver): Promise<WriteResult> {
  const fixes = new Map<string, Claim>();
  const retries: Claim[] = [];
  const kept: WriteConflict[] = [];
  const states = await Promise.all(
    result.conflicts.map(async ({ snapshot, blocker }) => {
      const other = blocker && blocker.claimId !== snapshot.claimId ? blocker.claimId : undefined;
      const [current, blockerNow] = await Promise.all([
        r.admission.getClaim(snapshot.claimId),
        other === undefined ? undefined : r.admission.getClaim(other),
      ]);
      return { current, blockerNow };
    }),
  );
  result.conflicts.forEach((conflict, i) => {
    const { snapshot, blocker } = conflict;
    const { current, blockerNow } = states[i]!;
    let changed = false;
    if (blocker?.status === "held" && freed(blockerNow)) {
      fixes.set(blockerNow.claimId, blockerNow);
      changed = true;
    }
    const pending = snapshot.status === "pending" || snapshot.status === "held";
    const newer = pending && current && isFinal(current.status) ? current : undefined;
    // No blocker: it was freed meanwhile by a concurrent write; try again too.
    if (changed || newer || (conflict.reason === "taken" && !blocker)) retries.push(newer ?? snapshot);
    else kept.push(conflict);
  });
  const fixed = fixes.size > 0 ? await r.write([...fixes.values()]) : EMPTY;
  const retried = retries.length > 0 ? await r.write(retries) : EMPTY;
  return {
    written: [...result.written, ...fixed.written, ...retried.written],
    changed: [...result.changed, ...fixed.changed, ...retried.changed],
    behind: [...result.behind, ...fixed.behind, ...retried.behind],
    conflicts: [...kept, ...fixed.conflicts, ...retried.conflicts],
  };
}
