/**
 * The holds of the embedded admission (docs/api.md "Holds", ./holds.ts):
 * confirm, release and expiry are decided in one synchronous step, like an
 * admission, each publishes the claim's snapshot to the journal and answers
 * once it is fsync'ed. Expiry is decided from each hold's stored expiresAt,
 * by reapExpired() (the runtime's reaper) and by admission before it decides
 * (./memory-admission.ts). An ended hold gives its unit (the lowest free one
 * is handed out next) and its user slot back at once. The worker's
 * markWritten() moves each hold's ledger state on.
 */
import type { Claim } from "../../domain/types.ts";
import type { HoldOutcome, ReapResult } from "../../ports/admission.ts";
import type { Queue } from "../../ports/queue.ts";
import type { AdmissionBooks, CampaignState } from "./campaign-state.ts";
import { type Decision, decisionOf, type Hold, present, snapshotOf } from "./holds.ts";

const CLAIM_NOT_FOUND: HoldOutcome = Object.freeze({ kind: "claim_not_found" });
const noop = () => undefined;

export class HoldDesk {
  readonly #books: AdmissionBooks;
  readonly #queue: Queue<Claim>;
  readonly #now: () => number;

  constructor(books: AdmissionBooks, queue: Queue<Claim>, now: () => number) {
    this.#books = books;
    this.#queue = queue;
    this.#now = now;
  }

  /** A claim just admitted becomes an open hold until `expiresAt`. */
  open(state: CampaignState, claim: Claim, expiresAt: number): void {
    claim.expiresAt = expiresAt;
    this.#books.holds.set(claim.claimId, {
      claim,
      decision: "open",
      decidedAt: claim.admittedAt,
      shown: "open",
      ledger: "none",
      settled: Promise.resolve(),
    });
    state.expiries.push({ at: expiresAt, claimId: claim.claimId });
  }

  async confirm(claimId: string): Promise<HoldOutcome> {
    const found = this.#hold(claimId);
    if (found.kind !== "hold") return found.outcome;
    const { hold } = found;
    const fresh = hold.decision === "open";
    if (fresh) this.#decideBeforeExpiry(found.state, hold, "confirmed");
    await hold.settled;
    return hold.decision === "confirmed"
      ? { kind: "confirmed", claim: hold.claim, replayed: !fresh }
      : { kind: "hold_expired", claim: hold.claim };
  }

  async release(claimId: string): Promise<HoldOutcome> {
    const found = this.#hold(claimId);
    if (found.kind !== "hold") return found.outcome;
    const { hold } = found;
    const fresh = hold.decision === "open";
    if (fresh) this.#decideBeforeExpiry(found.state, hold, "released");
    await hold.settled;
    switch (hold.decision) {
      case "released":
        return { kind: "released", claim: hold.claim, replayed: !fresh };
      case "confirmed":
        return { kind: "already_confirmed", claim: hold.claim };
      default:
        return { kind: "hold_expired", claim: hold.claim };
    }
  }

  /** Atomic with expiry: before expiresAt the confirmation (or release) wins, at or after it the hold has expired. */
  #decideBeforeExpiry(state: CampaignState, hold: Hold, wins: "confirmed" | "released"): void {
    const now = this.#now();
    const expiresAt = hold.claim.expiresAt ?? 0;
    this.#decideHold(state, hold, now < expiresAt ? wins : "expired", now);
  }

  /**
   * The hold behind a claim id (one the ledger has finished is read from its
   * status), or the answer when there is none: unknown or not yet durable,
   * or not a hold.
   */
  #hold(
    claimId: string,
  ): { kind: "hold"; state: CampaignState; hold: Hold } | { kind: "answer"; outcome: HoldOutcome } {
    const claim = this.#books.claims.get(claimId);
    const state = claim && this.#books.campaigns.get(claim.campaignId);
    if (!claim || !state || this.#books.durable.has(claimId))
      return { kind: "answer", outcome: CLAIM_NOT_FOUND };
    const hold = this.#books.holds.get(claimId);
    if (hold) return { kind: "hold", state, hold };
    if (claim.expiresAt === undefined) return { kind: "answer", outcome: { kind: "not_a_hold", claim } };
    return { kind: "hold", state, hold: finishedHold(claim) };
  }

  async reapExpired(campaignId: string): Promise<ReapResult> {
    const state = this.#books.campaigns.get(campaignId);
    if (!state) return { expired: [], nextDueAt: null };
    const expired = this.expireDue(state, this.#now());
    await Promise.all(expired.map((h) => h.settled));
    return { expired: expired.map((h) => h.claim), nextDueAt: this.nextDue(state) };
  }

  /** Expires every open hold of the campaign whose expiresAt has come; their snapshots are on their way to disk. */
  expireDue(state: CampaignState, now: number): Hold[] {
    const expired: Hold[] = [];
    for (let due = state.expiries.peek(); due && due.at <= now; due = state.expiries.peek()) {
      state.expiries.pop();
      const hold = this.#books.holds.get(due.claimId);
      if (hold?.decision !== "open") continue;
      this.#decideHold(state, hold, "expired", now);
      expired.push(hold);
    }
    return expired;
  }

  /** When the campaign's next open hold is due (null: none is open). */
  nextDue(state: CampaignState): number | null {
    for (let due = state.expiries.peek(); due; due = state.expiries.peek()) {
      if (this.#books.holds.get(due.claimId)?.decision === "open") return due.at;
      state.expiries.pop();
    }
    return null;
  }

  /**
   * Decides an open hold now, in one synchronous step: the counters, the
   * unit and the user slot change at once (an ended hold's unit may be taken
   * by the next admission, whose snapshot follows this one in the journal);
   * the claim shows the decision once its snapshot is durable (`settled`).
   */
  #decideHold(state: CampaignState, hold: Hold, decision: Exclude<Decision, "open">, now: number): void {
    if (hold.ledger === "held") state.held--;
    hold.decision = decision;
    hold.decidedAt = now;
    if (decision !== "confirmed") {
      state.admitted--;
      state.units.give(hold.claim.unit);
    }
    hold.settled = this.#queue.publish([snapshotOf(hold.claim, decision, now)]).then(() => {
      hold.shown = decision;
      present(hold);
      this.#forgetIfDone(hold);
    });
    // Whoever waits for it sees a failure; nobody waiting is no unhandled rejection.
    hold.settled.catch(noop);
  }

  /**
   * Worker side: the ledger now holds these claims with these statuses.
   * Idempotent: a status already applied changes nothing.
   */
  async markWritten(written: readonly Claim[]): Promise<void> {
    for (const row of written) {
      const claim = this.#books.claims.get(row.claimId);
      const state = claim && this.#books.campaigns.get(claim.campaignId);
      if (!claim || !state) continue;
      const hold = this.#books.holds.get(row.claimId);
      if (!hold) {
        if (row.status === "issued" && claim.status === "pending") {
          claim.status = "issued";
          claim.issuedAt = row.issuedAt;
          state.issued++;
        }
        continue;
      }
      this.#written(state, hold, row);
      present(hold);
      this.#forgetIfDone(hold);
    }
  }

  /** One hold's ledger state moves on (the ledger's word is final: it only takes what was decided here). */
  #written(state: CampaignState, hold: Hold, row: Claim): void {
    const open = hold.decision === "open";
    switch (row.status) {
      case "held":
        if (hold.ledger !== "none") return;
        hold.ledger = "held";
        if (open) state.held++;
        return;
      case "issued":
        if (hold.ledger === "issued") return;
        if (hold.ledger === "held" && open) state.held--;
        hold.ledger = "issued";
        state.issued++;
        if (open) {
          hold.decision = hold.shown = "confirmed";
          hold.decidedAt = row.issuedAt ?? this.#now();
        }
        return;
      case "expired":
      case "released":
        if (hold.ledger === "ended") return;
        if (hold.ledger === "held" && open) state.held--;
        hold.ledger = "ended";
        if (open) {
          hold.decision = hold.shown = row.status;
          hold.decidedAt = row.endedAt ?? this.#now();
          state.admitted--;
          state.units.give(hold.claim.unit);
        }
        return;
      default:
    }
  }

  /** The ledger holds the final state, and it is durable: the claim's status says it all from now on. */
  #forgetIfDone(hold: Hold): void {
    const final = hold.ledger === "issued" || hold.ledger === "ended";
    if (final && hold.shown === hold.decision) this.#books.holds.delete(hold.claim.claimId);
  }
}

/** A hold the ledger has finished (the store forgot its Hold): its status is its decision, durable. */
function finishedHold(claim: Claim): Hold {
  const decision = decisionOf(claim);
  return {
    claim,
    decision,
    decidedAt: claim.issuedAt ?? claim.endedAt ?? claim.admittedAt,
    shown: decision,
    ledger: decision === "confirmed" ? "issued" : "ended",
    settled: Promise.resolve(),
  };
}
