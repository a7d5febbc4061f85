import { createHash } from "node:crypto";
import { erasedUserId } from "../../domain/erasure.ts";
import { newClaimId, newCouponCode } from "../../domain/ids.ts";
import type { Campaign, CampaignCounters, Claim } from "../../domain/types.ts";
import { windowState } from "../../domain/window.ts";
import type {
  AdmissionStore,
  AdmitOutcome,
  AdmitRequest,
  CampaignChange,
  ChangeOutcome,
  ForgetOutcome,
  HoldOutcome,
  NotActiveReason,
  ReapResult,
} from "../../ports/admission.ts";
import type { Queue } from "../../ports/queue.ts";
import type { RateLimiter } from "../../ports/rate-limiter.ts";
import type { AnswerLog, KeyedAnswer } from "./answer-log.ts";
import { type Decision, decisionOf, type Hold, isActiveDecision, present, snapshotOf } from "./holds.ts";
import { IdempotencyCache } from "./idempotency-cache.ts";
import { MinHeap } from "./min-heap.ts";
import { mergeRestored } from "./restore.ts";
import { UnitPool } from "./unit-pool.ts";

export interface MemoryAdmissionOptions {
  /** The admission clock (epoch ms); tests pass their own. */
  now?: () => number;
  /** RATE_LIMIT_USER / RATE_LIMIT_IP (a MemoryRateLimiter); none: no limit. */
  rateLimiter?: RateLimiter | undefined;
  /** IDEMPOTENCY_TTL_S in ms: how long the answer to an Idempotency-Key is kept (default 24 h). */
  idempotencyTtlMs?: number;
  /** Where keyed 409/403/410 answers are made durable, so they survive a restart (answer-log.ts). */
  answers?: AnswerLog | undefined;
}

/**
 * A decision as it is made (synchronously); an admitted claim's `durable`
 * resolves once the journal holds it, an already-held claim's when it does
 * (undefined: it does already).
 */
export type Verdict =
  | { kind: "admitted"; claim: Claim; durable: Promise<void> }
  | { kind: "already_claimed"; claim: Claim; durable: Promise<void> | undefined }
  | { kind: "not_active"; reason: NotActiveReason }
  | { kind: "sold_out" };

/** What a waiting room's releaser may do now (MemoryAdmission.lineCapacity). */
export interface LineCapacity {
  /** Units no active claim holds. */
  free: number;
  window: "open" | NotActiveReason;
  /** No unit can become free any more: every waiting ticket is sold out. */
  hopeless: boolean;
}

/** An undecided hold's place in its campaign's expiry order (stale once decided: skipped). */
interface Due {
  at: number;
  claimId: string;
}

interface CampaignState {
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
  /** Open holds by expiresAt: what the reaper and admit() expire. */
  expiries: MinHeap<Due>;
  /** The newest admission not yet durable: a 410 waits for it (see admit()). */
  lastInFlight: Promise<void> | undefined;
}

const SOLD_OUT: AdmitOutcome = Object.freeze({ kind: "sold_out", replayed: false });
const NOT_FOUND: AdmitOutcome = Object.freeze({ kind: "campaign_not_found" });
const CLAIM_NOT_FOUND: HoldOutcome = Object.freeze({ kind: "claim_not_found" });
const NONE: readonly Claim[] = Object.freeze([]);
const noop = () => undefined;

/**
 * Admission in one process (embedded mode). Node runs JavaScript on one
 * thread, so the decision and the reservation happen in one synchronous step
 * and need no lock; the claim is then published to the durable queue, and the
 * answer waits for that fsync.
 *
 * The order of checks (SPEC "Claims"): unknown campaign; a repeat of an
 * Idempotency-Key answers what the first request was answered (never 429);
 * a user who holds no full set of claims, of a campaign sold out or not
 * active, is answered 410/403 at once (what the process knows costs less
 * than the limiter: the contract's exception); then the rate limit; then 409,
 * 403, 410, 202. Keyed answers other than 202 wait until they are durable in
 * the answer log (a 202's key is in its claim), so a repeat after a restart
 * gets the same answer.
 *
 * Holds (docs/api.md "Holds", ./holds.ts): confirm, release and expiry are
 * decided in the same synchronous way, each publishes the claim's snapshot
 * to the same journal and answers once it is fsync'ed. Expiry is decided
 * from each hold's stored expiresAt, by reapExpired() (the runtime's reaper)
 * and by admit() before it decides, so a unit that could come back is never
 * answered 410. An ended hold gives its unit (the lowest free one is handed
 * out next) and its user slot back at once.
 */
export class MemoryAdmission implements AdmissionStore {
  readonly #queue: Queue<Claim>;
  readonly #now: () => number;
  readonly #limiter: RateLimiter | undefined;
  readonly #answers: AnswerLog | undefined;
  readonly #ttlMs: number;
  readonly #campaigns = new Map<string, CampaignState>();
  readonly #claims = new Map<string, Claim>();
  /** Holds whose story the ledger has not finished yet, by claim id. */
  readonly #holds = new Map<string, Hold>();
  /** Claims whose publish has not resolved yet, by claim id. */
  readonly #durable = new Map<string, Promise<void>>();
  /** Answers to keys, by campaign, user and key (erasure drops a user's by prefix). */
  readonly #idempotency: IdempotencyCache<AdmitOutcome>;
  /** Answers read back from the answer log at start, by answerHash (the log keeps no userIds). */
  readonly #restoredAnswers: IdempotencyCache<AdmitOutcome>;

  constructor(queue: Queue<Claim>, options: MemoryAdmissionOptions = {}) {
    this.#queue = queue;
    this.#now = options.now ?? Date.now;
    this.#limiter = options.rateLimiter;
    this.#answers = options.answers;
    this.#ttlMs = options.idempotencyTtlMs ?? 24 * 3600_000;
    this.#idempotency = new IdempotencyCache(1_000_000, this.#ttlMs);
    this.#restoredAnswers = new IdempotencyCache(1_000_000, this.#ttlMs);
  }

  /**
   * Rebuild after a restart (./restore.ts), once the campaigns are put: the
   * journal's surviving snapshots (already queued again for the worker) and
   * the ledger's active claims. Holds whose expiresAt has passed stay open
   * here; the next reapExpired() or admit() expires them.
   */
  restore(journal: Iterable<Claim>, ledger: Iterable<Claim> = []): void {
    const touched = new Set<CampaignState>();
    for (const restored of mergeRestored(ledger, journal).values()) {
      const { claim } = restored;
      const state = this.#campaigns.get(claim.campaignId);
      if (!state || this.#claims.has(claim.claimId)) continue;
      touched.add(state);
      this.#claims.set(claim.claimId, claim);
      const list = state.users.get(claim.userId);
      if (list) list.push(claim);
      else state.users.set(claim.userId, [claim]);
      if (restored.hold) {
        const hold: Hold = {
          claim,
          decision: restored.decision,
          decidedAt: restored.decidedAt,
          shown: restored.decision,
          ledger: restored.ledger,
          settled: Promise.resolve(),
        };
        present(hold);
        if (!(restored.ledger === "issued" && restored.decision === "confirmed"))
          this.#holds.set(claim.claimId, hold);
      } else claim.status = restored.ledger === "issued" ? "issued" : "pending";
      if (claim.idempotencyKey !== undefined)
        this.#idempotency.set(idemKey(claim.campaignId, claim.userId, claim.idempotencyKey), {
          kind: "admitted",
          claim,
          replayed: false,
        });
    }
    for (const state of touched) this.#recount(state);
  }

  /** Counters, unit pool and expiry order of a campaign, from its claims (after restore()). */
  #recount(state: CampaignState): void {
    state.admitted = 0;
    state.issued = 0;
    state.held = 0;
    state.expiries = newExpiries();
    const units: number[] = [];
    for (const claims of state.users.values()) {
      claims.sort((a, b) => a.admittedAt - b.admittedAt || a.seq - b.seq);
      for (const claim of claims) {
        const hold = this.#holds.get(claim.claimId);
        if (!this.#isActive(claim)) continue;
        state.admitted++;
        units.push(claim.unit);
        if (hold ? hold.ledger === "issued" : claim.status === "issued") state.issued++;
        if (hold?.decision === "open") {
          if (hold.ledger === "held") state.held++;
          state.expiries.push({ at: claim.expiresAt ?? 0, claimId: claim.claimId });
        }
      }
    }
    state.units.rebuild(units);
  }

  /**
   * After restore(): the keyed 409/403/410 answers the answer log kept. A 409
   * names a claim restore() brought back; one whose claim is gone is skipped.
   */
  restoreAnswers(answers: Iterable<KeyedAnswer>): void {
    for (const answer of answers) {
      let outcome: AdmitOutcome | undefined;
      if (answer.a === "S") outcome = SOLD_OUT;
      else if (answer.a === "N")
        outcome = { kind: "not_active", reason: answer.v as NotActiveReason, replayed: false };
      else {
        const claim = this.#claims.get(answer.v ?? "");
        if (claim) outcome = { kind: "already_claimed", claim, replayed: false };
      }
      if (outcome) this.#restoredAnswers.set(answer.h, outcome, answer.t + this.#ttlMs);
    }
  }

  async putCampaign(campaign: Campaign): Promise<void> {
    const state = this.#campaigns.get(campaign.id);
    if (state) state.campaign = campaign;
    else
      this.#campaigns.set(campaign.id, {
        campaign,
        admitted: 0,
        issued: 0,
        held: 0,
        users: new Map(),
        units: new UnitPool(),
        expiries: newExpiries(),
        lastInFlight: undefined,
      });
  }

  async getCampaign(campaignId: string): Promise<Campaign | undefined> {
    return this.#campaigns.get(campaignId)?.campaign;
  }

  async listCampaigns(): Promise<Campaign[]> {
    return [...this.#campaigns.values()].map((s) => s.campaign);
  }

  async counters(campaignId: string): Promise<CampaignCounters | undefined> {
    const state = this.#campaigns.get(campaignId);
    return state && { admitted: state.admitted, issued: state.issued, held: state.held };
  }

  admit(request: AdmitRequest): Promise<AdmitOutcome> {
    const { campaignId, userId, idempotencyKey } = request;
    const state = this.#campaigns.get(campaignId);
    if (!state) return Promise.resolve(NOT_FOUND);
    if (idempotencyKey === undefined) return this.#admit(state, request);
    const key = idemKey(campaignId, userId, idempotencyKey);
    const earlier = this.#idempotency.get(key) ?? this.#restoredAnswer(campaignId, userId, idempotencyKey);
    if (earlier) return earlier.then(replay);
    // Store the promise before deciding, so a concurrent repeat with the same
    // key waits for this answer instead of making a second claim.
    const outcome = this.#admit(state, request).then((o) => this.#remember(request, idempotencyKey, o));
    this.#idempotency.set(key, outcome);
    outcome.then(
      (o) => {
        // Nothing was decided: a repeat asks again.
        if (o.kind === "campaign_not_found" || o.kind === "rate_limited") this.#idempotency.delete(key);
      },
      () => this.#idempotency.delete(key),
    );
    return outcome;
  }

  #restoredAnswer(campaignId: string, userId: string, key: string): Promise<AdmitOutcome> | undefined {
    return this.#restoredAnswers.size === 0
      ? undefined
      : this.#restoredAnswers.get(answerHash(campaignId, userId, key));
  }

  /** A keyed answer other than 202 is made durable before it is given (a 202's key is in its claim). */
  async #remember(request: AdmitRequest, key: string, outcome: AdmitOutcome): Promise<AdmitOutcome> {
    if (!this.#answers) return outcome;
    let answer: KeyedAnswer | undefined;
    const h = answerHash(request.campaignId, request.userId, key);
    const t = this.#now();
    if (outcome.kind === "sold_out") answer = { h, a: "S", t };
    else if (outcome.kind === "not_active") answer = { h, a: "N", v: outcome.reason, t };
    else if (outcome.kind === "already_claimed") answer = { h, a: "C", v: outcome.claim.claimId, t };
    if (answer) await this.#answers.append(answer);
    return outcome;
  }

  async #admit(state: CampaignState, request: AdmitRequest): Promise<AdmitOutcome> {
    const { campaignId, userId, idempotencyKey } = request;
    // Due holds give their units back before anything is decided (never a 410 while one could).
    if (state.campaign.holdSeconds) this.#expireDue(state, this.#now());
    const known = this.#known(state, userId);
    if (known) return known;
    if (this.#limiter) {
      const retryAfterSec = await this.#limiter.check(campaignId, userId, request.clientIp ?? "");
      if (retryAfterSec !== undefined) return { kind: "rate_limited", retryAfterSec };
    }
    return this.#decide(campaignId, userId, idempotencyKey);
  }

  /**
   * 410 or 403 for a user who does not hold a full set of claims, when the
   * campaign is sold out or not active: answered before the rate limiter.
   * A holder goes on to the limiter, then 409.
   */
  #known(state: CampaignState, userId: string): Promise<AdmitOutcome> | undefined {
    if (this.#active(state, userId).length >= state.campaign.perUserLimit) return undefined;
    const window = windowState(state.campaign, this.#now());
    if (window !== "open") return Promise.resolve({ kind: "not_active", reason: window, replayed: false });
    if (state.admitted < state.campaign.stock) return undefined;
    // Units reserved by admissions still being fsync'ed are not held yet (see #decide).
    return state.lastInFlight ? state.lastInFlight.then(() => SOLD_OUT) : Promise.resolve(SOLD_OUT);
  }

  async #decide(
    campaignId: string,
    userId: string,
    idempotencyKey: string | undefined,
  ): Promise<AdmitOutcome> {
    const state = this.#campaigns.get(campaignId);
    if (!state) return NOT_FOUND;
    const verdict = this.#decideNow(state, userId, { idempotencyKey });
    switch (verdict.kind) {
      case "already_claimed":
        // The claim may still be on its way to disk: never name a claim that a
        // crash could still undo.
        await verdict.durable;
        return { kind: "already_claimed", claim: verdict.claim, replayed: false };
      case "not_active":
        return { kind: "not_active", reason: verdict.reason, replayed: false };
      case "sold_out":
        // Units reserved by admissions still being fsync'ed are not held yet;
        // a 410 must wait until they are (invariant 4, docs/api.md).
        await state.lastInFlight;
        return SOLD_OUT;
      case "admitted":
        // A failed publish throws: the API answers 503 and the reservation stays
        // (the bytes may have reached the disk; the journal now refuses appends).
        await verdict.durable;
        return { kind: "admitted", claim: verdict.claim, replayed: false };
    }
  }

  /**
   * The decision itself, in one synchronous step: no other decision runs
   * between the checks and the reservation. An admitted claim is on its way
   * to the journal (`durable` resolves once it is fsync'ed, rejects when the
   * journal failed); the caller answers only after that. A claim released
   * from a waiting room's line takes its id from its ticket (`claimId`). A
   * waiting room's campaign is decided as any other: refusing direct claims
   * (403, reason queue) is the claims service's rule, in every mode
   * (services/claims.ts), as RedisAdmission leaves it.
   */
  #decideNow(
    state: CampaignState,
    userId: string,
    options: { idempotencyKey?: string | undefined; claimId?: string | undefined },
  ): Verdict {
    const { campaign } = state;
    const now = this.#now();
    if (campaign.holdSeconds) this.#expireDue(state, now);
    const held = this.#active(state, userId);
    if (held.length >= campaign.perUserLimit) {
      const latest = held.at(-1)!;
      return { kind: "already_claimed", claim: latest, durable: this.#durable.get(latest.claimId) };
    }
    const window = windowState(campaign, now);
    if (window !== "open") return { kind: "not_active", reason: window };
    if (state.admitted >= campaign.stock) return { kind: "sold_out" };

    state.admitted++;
    const claim: Claim = {
      claimId: options.claimId ?? newClaimId(),
      campaignId: campaign.id,
      userId,
      seq: lowestFreeSeq(held),
      unit: state.units.take(),
      couponCode: newCouponCode(),
      admittedAt: now,
      status: "pending",
      idempotencyKey: options.idempotencyKey,
    };
    if (campaign.holdSeconds) {
      claim.expiresAt = now + campaign.holdSeconds * 1000;
      this.#holds.set(claim.claimId, {
        claim,
        decision: "open",
        decidedAt: now,
        shown: "open",
        ledger: "none",
        settled: Promise.resolve(),
      });
      state.expiries.push({ at: claim.expiresAt, claimId: claim.claimId });
    }
    const list = state.users.get(userId);
    if (list) list.push(claim);
    else state.users.set(userId, [claim]);
    this.#claims.set(claim.claimId, claim);

    // Until it is durable the claim is not shown (getClaim) nor named in a
    // 409, and a 410 waits for it: the cleanup runs before any caller resumes.
    const durable = this.#queue.publish([snapshotOf(claim, "open", now)]).finally(() => {
      this.#durable.delete(claim.claimId);
      if (state.lastInFlight === settled) state.lastInFlight = undefined;
    });
    const settled = durable.then(noop, noop);
    this.#durable.set(claim.claimId, settled);
    state.lastInFlight = settled;
    return { kind: "admitted", claim, durable };
  }

  /**
   * Waiting room (./memory-waiting-room.ts): admits a user released from the
   * head of a line, exactly as a claim would be (per-user limit, window,
   * stock, holds, the same journal), minus the rate limit (the join was
   * limited). Decided synchronously, so a releaser
   * that calls it for several tickets in a row decides them in line order;
   * `durable` says when the answer may be shown. The claim takes `claimId`
   * (the ticket's id: the one durable record says which ticket it came from).
   */
  admitFromLine(
    campaignId: string,
    userId: string,
    claimId: string,
  ): Verdict | { kind: "campaign_not_found" } {
    const state = this.#campaigns.get(campaignId);
    if (!state) return { kind: "campaign_not_found" };
    return this.#decideNow(state, userId, { claimId });
  }

  /**
   * Waiting room: what a releaser may do now, after expiring the holds that
   * are due: how many units are free, whether the window is open, and
   * whether the line is hopeless (no unit can ever become free: the
   * campaign ended or closed, or every unit is taken and no open hold may
   * still give one back). A stock raise makes a hopeless line hopeful again.
   */
  lineCapacity(campaignId: string): LineCapacity | undefined {
    const state = this.#campaigns.get(campaignId);
    if (!state) return undefined;
    const { campaign } = state;
    const now = this.#now();
    if (campaign.holdSeconds) this.#expireDue(state, now);
    const window = windowState(campaign, now);
    const free = Math.max(0, campaign.stock - state.admitted);
    const over = window === "ended" || window === "closed";
    const hopeless = over || (free === 0 && (!campaign.holdSeconds || this.#nextDue(state) === null));
    return { free, window, hopeless };
  }

  /** Waiting room: whether the user holds as many active claims as the campaign allows (a release needs no unit then). */
  holdsFullSet(campaignId: string, userId: string): boolean {
    const state = this.#campaigns.get(campaignId);
    return state !== undefined && this.#active(state, userId).length >= state.campaign.perUserLimit;
  }

  /** Whether admission holds this claim, durable or not (a waiting room's restore asks). */
  hasClaim(claimId: string): boolean {
    return this.#claims.has(claimId);
  }

  async getClaim(claimId: string): Promise<Claim | undefined> {
    if (this.#durable.has(claimId)) return undefined;
    return this.#claims.get(claimId);
  }

  async userClaims(campaignId: string, userId: string): Promise<Claim[]> {
    const claims = this.#campaigns.get(campaignId)?.users.get(userId) ?? [];
    return claims.filter((c) => !this.#durable.has(c.claimId));
  }

  async confirm(claimId: string): Promise<HoldOutcome> {
    const found = this.#hold(claimId);
    if (found.kind !== "hold") return found.outcome;
    const { state, hold } = found;
    if (hold.decision === "open") {
      const now = this.#now();
      const expiresAt = hold.claim.expiresAt ?? 0;
      // Atomic with expiry: before expiresAt the confirmation wins, at or after it the hold has expired.
      const decision = now < expiresAt ? "confirmed" : "expired";
      this.#decideHold(state, hold, decision, now);
      await hold.settled;
      return decision === "confirmed"
        ? { kind: "confirmed", claim: hold.claim, replayed: false }
        : { kind: "hold_expired", claim: hold.claim };
    }
    await hold.settled;
    return hold.decision === "confirmed"
      ? { kind: "confirmed", claim: hold.claim, replayed: true }
      : { kind: "hold_expired", claim: hold.claim };
  }

  async release(claimId: string): Promise<HoldOutcome> {
    const found = this.#hold(claimId);
    if (found.kind !== "hold") return found.outcome;
    const { state, hold } = found;
    if (hold.decision === "open") {
      const now = this.#now();
      const expiresAt = hold.claim.expiresAt ?? 0;
      const decision = now < expiresAt ? "released" : "expired";
      this.#decideHold(state, hold, decision, now);
      await hold.settled;
      return decision === "released"
        ? { kind: "released", claim: hold.claim, replayed: false }
        : { kind: "hold_expired", claim: hold.claim };
    }
    await hold.settled;
    switch (hold.decision) {
      case "released":
        return { kind: "released", claim: hold.claim, replayed: true };
      case "confirmed":
        return { kind: "already_confirmed", claim: hold.claim };
      default:
        return { kind: "hold_expired", claim: hold.claim };
    }
  }

  /**
   * The hold behind a claim id (one the ledger has finished is read from its
   * status), or the answer when there is none: unknown or not yet durable,
   * or not a hold.
   */
  #hold(
    claimId: string,
  ): { kind: "hold"; state: CampaignState; hold: Hold } | { kind: "answer"; outcome: HoldOutcome } {
    const claim = this.#claims.get(claimId);
    const state = claim && this.#campaigns.get(claim.campaignId);
    if (!claim || !state || this.#durable.has(claimId)) return { kind: "answer", outcome: CLAIM_NOT_FOUND };
    const hold = this.#holds.get(claimId);
    if (hold) return { kind: "hold", state, hold };
    if (claim.expiresAt === undefined) return { kind: "answer", outcome: { kind: "not_a_hold", claim } };
    return { kind: "hold", state, hold: finishedHold(claim) };
  }

  async reapExpired(campaignId: string): Promise<ReapResult> {
    const state = this.#campaigns.get(campaignId);
    if (!state) return { expired: [], nextDueAt: null };
    const expired = this.#expireDue(state, this.#now());
    await Promise.all(expired.map((h) => h.settled));
    return { expired: expired.map((h) => h.claim), nextDueAt: this.#nextDue(state) };
  }

  /** Expires every open hold of the campaign whose expiresAt has come; their snapshots are on their way to disk. */
  #expireDue(state: CampaignState, now: number): Hold[] {
    const expired: Hold[] = [];
    for (let due = state.expiries.peek(); due && due.at <= now; due = state.expiries.peek()) {
      state.expiries.pop();
      const hold = this.#holds.get(due.claimId);
      if (hold?.decision !== "open") continue;
      this.#decideHold(state, hold, "expired", now);
      expired.push(hold);
    }
    return expired;
  }

  #nextDue(state: CampaignState): number | null {
    for (let due = state.expiries.peek(); due; due = state.expiries.peek()) {
      if (this.#holds.get(due.claimId)?.decision === "open") return due.at;
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
      const claim = this.#claims.get(row.claimId);
      const state = claim && this.#campaigns.get(claim.campaignId);
      if (!claim || !state) continue;
      const hold = this.#holds.get(row.claimId);
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
    if (final && hold.shown === hold.decision) this.#holds.delete(hold.claim.claimId);
  }

  /** A claim that holds its unit and its user's slot. */
  #isActive(claim: Claim): boolean {
    const hold = this.#holds.get(claim.claimId);
    if (hold) return isActiveDecision(hold.decision);
    return claim.status !== "expired" && claim.status !== "released";
  }

  /** The user's active claims, in admission order. */
  #active(state: CampaignState, userId: string): readonly Claim[] {
    const claims = state.users.get(userId);
    if (!claims) return NONE;
    // Without holds every claim is active.
    if (!state.campaign.holdSeconds) return claims;
    return claims.filter((c) => this.#isActive(c));
  }

  /** One synchronous step: no claim is decided between the check and the change. */
  async changeCampaign(campaignId: string, change: CampaignChange): Promise<ChangeOutcome> {
    const state = this.#campaigns.get(campaignId);
    if (!state) return { kind: "campaign_not_found" };
    const previous = state.campaign;
    if (previous.status === "closed") return { kind: "closed", campaign: previous };
    // A unit above the new stock still held (a hold's unit may be reused below it) refuses it.
    if (change.stock !== undefined && (change.stock < state.admitted || !state.units.shrinkTo(change.stock)))
      return {
        kind: "stock_below_admitted",
        campaign: previous,
        admitted: Math.max(state.admitted, state.units.highestInUse()),
      };
    const now = this.#now();
    let endsAt = change.endsAt === undefined ? previous.endsAt : change.endsAt;
    // Closing ends the campaign now: endsAt says when it stopped.
    if (change.status === "closed" && (endsAt === null || endsAt > now)) endsAt = now;
    const campaign: Campaign = {
      ...previous,
      status: change.status ?? previous.status ?? "open",
      stock: change.stock ?? previous.stock,
      endsAt,
      revision: (previous.revision ?? 0) + 1,
    };
    state.campaign = campaign;
    return { kind: "changed", campaign, previous, admitted: state.admitted, appliedAt: now };
  }

  async forgetUser(campaignId: string, userId: string): Promise<ForgetOutcome> {
    const state = this.#campaigns.get(campaignId);
    if (!state) return { kind: "campaign_not_found" };
    const claims = state.users.get(userId) ?? [];
    // A claim the ledger has not finished would be written with the userId.
    if (claims.some((c) => c.status === "pending" || this.#holds.has(c.claimId))) return { kind: "pending" };
    for (const claim of claims) {
      // The same object sits in #claims and in idempotency answers: renaming
      // it here renames it everywhere.
      claim.userId = erasedUserId(claim.claimId);
      claim.idempotencyKey = undefined;
      state.users.set(claim.userId, [claim]);
    }
    state.users.delete(userId);
    this.#idempotency.deletePrefix(`${campaignId}\u0000${userId}\u0000`);
    return { kind: "forgotten", claims: claims.length };
  }

  async ping(): Promise<void> {
    await this.#queue.ping();
  }

  async close(): Promise<void> {}
}

const newExpiries = () => new MinHeap<Due>((a, b) => a.at < b.at);

/** The user's lowest slot (1..) no active claim holds: an ended hold's slot is taken again. */
function lowestFreeSeq(active: readonly Claim[]): number {
  if (active.length === 0) return 1;
  const taken = new Set(active.map((c) => c.seq));
  let seq = 1;
  while (taken.has(seq)) seq++;
  return seq;
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

const idemKey = (campaignId: string, userId: string, key: string) =>
  `${campaignId}\u0000${userId}\u0000${key}`;

/** What the answer log keeps of (campaign, user, key): 128 bits of SHA-256, no userId. */
export const answerHash = (campaignId: string, userId: string, key: string): string =>
  createHash("sha256")
    .update(campaignId)
    .update("\u0000")
    .update(userId)
    .update("\u0000")
    .update(key)
    .digest("base64url")
    .slice(0, 22);

const replay = (outcome: AdmitOutcome): AdmitOutcome =>
  outcome.kind === "campaign_not_found" || outcome.kind === "rate_limited"
    ? outcome
    : { ...outcome, replayed: true };
