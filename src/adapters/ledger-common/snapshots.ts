/**
 * The decisions inside Ledger.write(), written once for both SQL ledgers
 * (the rules: ports/ledger.ts). Each engine supplies its SQL: an insert that
 * skips every row colliding with a unique key and says which it inserted, a
 * move of held rows to a final state, a lookup of claims by id, and a lookup
 * of the claims in the way of refused ones. An engine's write() reads:
 *
 *     const { batch, contradictions } = distinctSnapshots(snapshots);
 *     const applied = insert(batch.map((s) => newRow(s, holdSeconds, now)));
 *     for each snapshot not inserted with a transitionOf(s, now): move its held row;
 *     const existing = findClaims(ids neither inserted nor moved);
 *     const blockers = findBlockers(snapshots of claims the ledger lacks);
 *     return writeOutcome(batch, contradictions, applied, existing, blockers);
 */
import type { Claim, FinalStatus } from "../../domain/types.ts";
import type { WriteConflict, WriteResult } from "../../ports/ledger.ts";

/** What a snapshot asks for: `held` (a pending hold as admission shows it once written) reads as pending. */
export type SnapshotTarget = "pending" | FinalStatus;

export const targetOf = (snapshot: Claim): SnapshotTarget =>
  snapshot.status === "held" ? "pending" : snapshot.status;

/** A snapshot that, inserted, holds its unit and user slot (the active unique keys apply). */
export const insertsActive = (snapshot: Claim): boolean => {
  const target = targetOf(snapshot);
  return target === "pending" || target === "issued";
};

/**
 * Each claim once, at its first place in the batch, with its most advanced
 * snapshot (a queue may deliver a claim twice, or its pending and final
 * snapshots, in one batch). A second final snapshot of one claim that says
 * something else (issued and expired) cannot both hold: it is kept aside and
 * reported as a conflict with whatever the ledger ends up holding.
 */
export function distinctSnapshots(snapshots: readonly Claim[]): {
  batch: Claim[];
  contradictions: Claim[];
} {
  const byId = new Map<string, Claim>();
  const contradictions: Claim[] = [];
  for (const s of snapshots) {
    const seen = byId.get(s.claimId);
    if (!seen) byId.set(s.claimId, s);
    else if (targetOf(seen) === "pending") byId.set(s.claimId, s);
    else if (targetOf(s) !== "pending" && targetOf(s) !== targetOf(seen)) contradictions.push(s);
  }
  return { batch: [...byId.values()], contradictions };
}

/**
 * The row a snapshot inserts when the ledger lacks its claim, as a Claim
 * (what the ledger then holds). `holdSeconds`: its campaign's, null when it
 * has no holds. A pending hold's expiresAt is the snapshot's, else computed
 * from its admission.
 */
export function newRow(snapshot: Claim, holdSeconds: number | null, now: number): Claim {
  const target = targetOf(snapshot);
  const row: Claim = {
    claimId: snapshot.claimId,
    campaignId: snapshot.campaignId,
    userId: snapshot.userId,
    seq: snapshot.seq,
    unit: snapshot.unit,
    couponCode: snapshot.couponCode,
    admittedAt: snapshot.admittedAt,
    status: target === "pending" ? (holdSeconds === null ? "issued" : "held") : target,
    idempotencyKey: snapshot.idempotencyKey ?? undefined,
  };
  if (row.status === "issued") row.issuedAt = target === "pending" ? now : (snapshot.issuedAt ?? now);
  const expiresAt =
    snapshot.expiresAt ?? (holdSeconds === null ? undefined : snapshot.admittedAt + holdSeconds * 1000);
  if (expiresAt !== undefined) row.expiresAt = expiresAt;
  if (row.status === "expired" || row.status === "released") row.endedAt = snapshot.endedAt ?? now;
  return row;
}

/** How a held row moves for a final snapshot. */
export interface Transition {
  claimId: string;
  status: FinalStatus;
  /** issued: the confirmation's time. */
  issuedAt: number | null;
  /** expired, released: when that was decided. */
  endedAt: number | null;
}

/** The move a snapshot makes of its claim's held row; undefined for a pending one (nothing to move). */
export function transitionOf(snapshot: Claim, now: number): Transition | undefined {
  const target = targetOf(snapshot);
  if (target === "pending") return undefined;
  return {
    claimId: snapshot.claimId,
    status: target,
    issuedAt: target === "issued" ? (snapshot.issuedAt ?? now) : null,
    endedAt: target === "issued" ? null : (snapshot.endedAt ?? now),
  };
}

/**
 * The claim in the way of a refused snapshot, among candidates the engine
 * found (same unit or user slot among active claims, same coupon code): the
 * unit first, then the slot, then the code.
 */
export function pickBlocker(snapshot: Claim, candidates: readonly Claim[]): Claim | undefined {
  const others = candidates.filter((c) => c.claimId !== snapshot.claimId);
  const active = insertsActive(snapshot);
  return (
    (active && others.find((c) => c.unit === snapshot.unit && c.campaignId === snapshot.campaignId)) ||
    (active &&
      others.find(
        (c) => c.userId === snapshot.userId && c.seq === snapshot.seq && c.campaignId === snapshot.campaignId,
      )) ||
    others.find((c) => c.couponCode === snapshot.couponCode) ||
    undefined
  );
}

/**
 * How a snapshot relates to the ledger's row of its claim (which this write
 * neither inserted nor moved): applied already (a redelivery), behind it, or
 * contradicting it.
 */
function compare(snapshot: Claim, row: Claim): "written" | "behind" | "conflict" {
  const target = targetOf(snapshot);
  if (target === "pending") {
    if (row.status === "held") return "written";
    // A claim without holds is issued by its pending snapshot; a hold's was overtaken.
    if (row.status === "issued" && row.expiresAt === undefined) return "written";
    return "behind";
  }
  return row.status === target ? "written" : "conflict";
}

/**
 * The result, in batch order. `applied`: the rows this write inserted or
 * moved, by claim id; `existing`: the ledger's rows of the other claims it
 * has; `blockers`: for claims it lacks, the claim in the way, when found.
 */
export function writeOutcome(
  batch: readonly Claim[],
  contradictions: readonly Claim[],
  applied: ReadonlyMap<string, Claim>,
  existing: readonly Claim[],
  blockers: ReadonlyMap<string, Claim>,
): WriteResult {
  const inLedger = new Map(existing.map((c) => [c.claimId, c]));
  const result: WriteResult = { written: [], changed: [], behind: [], conflicts: [] };
  for (const snapshot of batch) {
    const moved = applied.get(snapshot.claimId);
    if (moved) {
      result.written.push(moved);
      result.changed.push(moved);
      continue;
    }
    const row = inLedger.get(snapshot.claimId);
    if (!row) {
      const conflict: WriteConflict = { snapshot, reason: "taken" };
      const blocker = blockers.get(snapshot.claimId);
      if (blocker) conflict.blocker = blocker;
      result.conflicts.push(conflict);
      continue;
    }
    const relation = compare(snapshot, row);
    if (relation === "written") result.written.push(row);
    else if (relation === "behind") result.behind.push(row);
    else result.conflicts.push({ snapshot, reason: "final", blocker: row });
  }
  for (const snapshot of contradictions) {
    const row = applied.get(snapshot.claimId) ?? inLedger.get(snapshot.claimId);
    const conflict: WriteConflict = { snapshot, reason: "final" };
    if (row) conflict.blocker = row;
    result.conflicts.push(conflict);
  }
  return result;
}

/** The snapshots whose claims are in none of the given sets: the ones still to look up. */
export const notIn = (batch: readonly Claim[], ...found: ReadonlyMap<string, unknown>[]): Claim[] =>
  batch.filter((s) => found.every((m) => !m.has(s.claimId)));

/**
 * Campaigns' holdSeconds, as write() needs them for every batch: fixed at
 * creation, so remembered once read (a campaign the ledger lacks is not
 * remembered: its claims fail on the foreign key).
 */
export class HoldSecondsCache {
  readonly #known = new Map<string, number | null>();

  /** The campaign ids of the batch not yet known. */
  unknown(snapshots: readonly Claim[]): string[] {
    return [...new Set(snapshots.map((s) => s.campaignId))].filter((id) => !this.#known.has(id));
  }

  remember(rows: readonly { id: string; hold_seconds: number | null }[]): void {
    for (const row of rows) this.#known.set(row.id, row.hold_seconds);
  }

  of(campaignId: string): number | null {
    return this.#known.get(campaignId) ?? null;
  }
}
