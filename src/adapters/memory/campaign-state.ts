/**
 * What the embedded admission (./memory-admission.ts) keeps in memory: each
 * campaign's counters, units and expiry order, and the claims, holds and
 * not-yet-durable admissions of every campaign. The hold decisions
 * (./hold-desk.ts) and the rebuild after a restart (./restore.ts) work on the
 * same books.
 */
import type { Campaign, Claim } from "../../domain/types.ts";
import { type Hold, isActiveDecision } from "./holds.ts";
import { MinHeap } from "./min-heap.ts";
import { UnitPool } from "./unit-pool.ts";

/** An undecided hold's place in its campaign's expiry order (stale once decided: skipped). */
export interface Due {
  at: number;
  claimId: string;
}

export interface CampaignState {
  campaign: Campaign;
  /** Units in use: active claims (pending, held, confirmed, issued). */
  admitted: number;
  /** Claims the ledger holds as issued. */
  issued: number;
  /** Holds the ledger holds as held that are still open. */
  held: number;
  /** Each user's claims in admission order, ended holds included (userClaims()). */
  users: Map<string, Claim[]>;
  units: UnitPool;
  /** Open holds by expiresAt: what the reaper and MemoryAdmission.admit() expire. */
  expiries: MinHeap<Due>;
  /** The newest admission not yet durable: a 410 waits for it (answerOf, ./verdict.ts). */
  lastInFlight: Promise<void> | undefined;
}

/** Everything admission holds, shared by its parts. */
export interface AdmissionBooks {
  readonly campaigns: Map<string, CampaignState>;
  readonly claims: Map<string, Claim>;
  /** Holds whose story the ledger has not finished yet, by claim id. */
  readonly holds: Map<string, Hold>;
  /** Claims whose publish has not resolved yet, by claim id. */
  readonly durable: Map<string, Promise<void>>;
}

export const newBooks = (): AdmissionBooks => ({
  campaigns: new Map(),
  claims: new Map(),
  holds: new Map(),
  durable: new Map(),
});

export const newCampaignState = (campaign: Campaign): CampaignState => ({
  campaign,
  admitted: 0,
  issued: 0,
  held: 0,
  users: new Map(),
  units: new UnitPool(),
  expiries: newExpiries(),
  lastInFlight: undefined,
});

export const newExpiries = () => new MinHeap<Due>((a, b) => a.at < b.at);

/** Adds a claim to its user's list (admission order). */
export function addUserClaim(state: CampaignState, claim: Claim): void {
  const list = state.users.get(claim.userId);
  if (list) list.push(claim);
  else state.users.set(claim.userId, [claim]);
}

/** A claim that holds its unit and its user's slot. */
export function isActive(books: AdmissionBooks, claim: Claim): boolean {
  const hold = books.holds.get(claim.claimId);
  if (hold) return isActiveDecision(hold.decision);
  return claim.status !== "expired" && claim.status !== "released";
}

const NONE: readonly Claim[] = Object.freeze([]);

/** The user's active claims, in admission order. */
export function activeClaims(books: AdmissionBooks, state: CampaignState, userId: string): readonly Claim[] {
  const claims = state.users.get(userId);
  if (!claims) return NONE;
  // Without holds every claim is active.
  if (!state.campaign.holdSeconds) return claims;
  return claims.filter((c) => isActive(books, c));
}

/** The user's lowest slot (1..) no active claim holds: an ended hold's slot is taken again. */
export function lowestFreeSeq(active: readonly Claim[]): number {
  if (active.length === 0) return 1;
  const taken = new Set(active.map((c) => c.seq));
  let seq = 1;
  while (taken.has(seq)) seq++;
  return seq;
}
