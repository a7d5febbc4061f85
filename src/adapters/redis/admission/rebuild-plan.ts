import type { Claim } from "../../../domain/types.ts";

/** What a rebuild read: the queue first, then the ledger (see rebuild.ts). */
export interface RebuildInput {
  stock: number;
  /** Every snapshot still queued for the campaign (the stream's, oldest first; Kafka: none). */
  queued: Iterable<Claim>;
  /** The ledger's live claims: held (with expiresAt) and issued. */
  live: Iterable<Claim>;
  /** The ledger's ended holds: expired and released. */
  ended: Iterable<Claim>;
}

/** The campaign's Redis state, as the rebuild writes it. */
export interface RebuildPlan {
  /**
   * The claims hash entries: every claim not final in the ledger, with the
   * status Redis gives it (pending, held, issued = confirmed, expired,
   * released).
   */
  claims: Claim[];
  /** userId -> holders value ("claimId:admittedAt:seq,..."), live claims only. */
  holders: [string, string][];
  /** Units up to `next` no live claim holds. */
  free: number[];
  /** Live holds not confirmed: [expiresAt, claimId]. */
  expiries: [number, string][];
  /** Claims whose Idempotency-Key answer is remembered again. */
  idempotency: Claim[];
  admitted: number;
  issued: number;
  held: number;
  ended: number;
  /** The highest unit ever handed out (the ledger's highest, ended holds' included). */
  next: number;
  /** Queued pending claims not kept (the ledger already holds their unit or slot: it would refuse them). */
  refused: number;
  /** Queued claims the ledger does not hold at all, kept pending or confirmed. */
  pending: number;
}

const final = (claim: Claim) =>
  claim.status === "issued" || claim.status === "expired" || claim.status === "released";

/**
 * Each claim's state after a Redis loss, from the ledger (the truth) and the
 * queued snapshots, each claim by its newest one (a final status over a
 * pending one; a claim reaches one final status only):
 *
 * - issued in the ledger: final, issued; it holds its unit and slot.
 * - held in the ledger: confirmed if a queued snapshot says issued (Redis
 *   status c), ended if one says expired or released (x, r: readable until
 *   the ledger has the end, its unit free), else held (h), back in the
 *   expiries: a hold whose time has passed expires at the next reap.
 * - only queued: pending or confirmed, holding its unit and slot (unless
 *   the ledger's live claims already hold either: refused, as the ledger
 *   would); ended, kept readable unless the ledger already holds the end.
 *
 * Units are held by live claims only; `next` covers every unit the ledger
 * ever saw, so the loss monitor's check (next >= the ledger's highest unit)
 * holds after a rebuild too.
 */
export function planRebuild(input: RebuildInput): RebuildPlan {
  const newest = new Map<string, Claim>();
  for (const q of input.queued) {
    const seen = newest.get(q.claimId);
    if (!seen || (final(q) && !final(seen))) newest.set(q.claimId, q);
  }
  const endedInLedger = new Map<string, Claim>();
  let next = 0;
  for (const c of input.ended) {
    endedInLedger.set(c.claimId, c);
    next = Math.max(next, c.unit);
  }

  const claims: Claim[] = [];
  const live: Claim[] = [];
  const expiries: [number, string][] = [];
  const liveIds = new Set<string>();
  let issued = 0;
  let held = 0;
  let ended = 0;
  for (const c of input.live) {
    liveIds.add(c.claimId);
    if (c.status === "issued") {
      issued++;
      live.push(c);
      continue;
    }
    const q = newest.get(c.claimId);
    if (q?.status === "issued") {
      const confirmed: Claim = { ...c, status: "issued", issuedAt: q.issuedAt };
      live.push(confirmed);
      claims.push(confirmed);
    } else if (q?.status === "expired" || q?.status === "released") {
      claims.push({ ...c, status: q.status, endedAt: q.endedAt });
      next = Math.max(next, c.unit);
      ended++;
    } else {
      const hold: Claim = { ...c, status: "held" };
      live.push(hold);
      claims.push(hold);
      if (c.expiresAt !== undefined) expiries.push([c.expiresAt, c.claimId]);
      held++;
    }
  }
  const units = new Set(live.map((c) => c.unit));
  const slots = new Set(live.map((c) => `${c.userId}\u0000${c.seq}`));

  let refused = 0;
  let pending = 0;
  const onlyQueued = [...newest.values()]
    .filter((q) => !liveIds.has(q.claimId))
    .sort((a, b) => a.admittedAt - b.admittedAt || a.seq - b.seq);
  for (const q of onlyQueued) {
    if (q.status === "expired" || q.status === "released") {
      if (endedInLedger.has(q.claimId)) continue;
      claims.push(q);
      next = Math.max(next, q.unit);
      ended++;
      continue;
    }
    const slot = `${q.userId}\u0000${q.seq}`;
    if (units.has(q.unit) || slots.has(slot) || q.unit > input.stock) {
      // Another claim holds its unit or slot: the ledger will refuse it.
      refused++;
      continue;
    }
    units.add(q.unit);
    slots.add(slot);
    live.push(q);
    claims.push(q);
    if (q.status === "pending" && q.expiresAt !== undefined) expiries.push([q.expiresAt, q.claimId]);
    pending++;
  }

  live.sort((a, b) => a.admittedAt - b.admittedAt || a.seq - b.seq);
  const holders = new Map<string, string>();
  for (const c of live) {
    const entry = `${c.claimId}:${c.admittedAt}:${c.seq}`;
    const value = holders.get(c.userId);
    holders.set(c.userId, value === undefined ? entry : `${value},${entry}`);
    next = Math.max(next, c.unit);
  }
  const free: number[] = [];
  if (units.size < next) for (let u = 1; u <= next; u++) if (!units.has(u)) free.push(u);
  // Every claim the campaign ever admitted that the rebuild knows of (each once).
  const known = new Map([...endedInLedger.values(), ...claims, ...live].map((c) => [c.claimId, c]));
  const idempotency = [...known.values()].filter((c) => c.idempotencyKey !== undefined);
  return {
    claims,
    holders: [...holders],
    free,
    expiries,
    idempotency,
    admitted: live.length,
    issued,
    held,
    ended,
    next,
    refused,
    pending,
  };
}
