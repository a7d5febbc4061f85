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
  ReapResult,
} from "../../ports/admission.ts";
import type { Queue } from "../../ports/queue.ts";
import type { RateLimiter } from "../../ports/rate-limiter.ts";
import type { AnswerLog, KeyedAnswer } from "./answer-log.ts";
import { changeCampaign, eraseUser } from "./campaign-changes.ts";
import {
  type AdmissionBooks,
  activeClaims,
  addUserClaim,
  type CampaignState,
  lowestFreeSeq,
  newBooks,
  newCampaignState,
} from "./campaign-state.ts";
import { HoldDesk } from "./hold-desk.ts";
import { snapshotOf } from "./holds.ts";
import { KeyedAnswers } from "./keyed-answers.ts";
import { restoreClaims } from "./restore.ts";
import { answerOf, type LineCapacity, type Verdict } from "./verdict.ts";

export { answerHash } from "./keyed-answers.ts";
export type { LineCapacity, Verdict } from "./verdict.ts";

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

const SOLD_OUT: AdmitOutcome = Object.freeze({ kind: "sold_out", replayed: false });
const NOT_FOUND: AdmitOutcome = Object.freeze({ kind: "campaign_not_found" });
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
 * Idempotency-Keys are answered by ./keyed-answers.ts; holds (confirm,
 * release, expiry, the ledger's progress) by ./hold-desk.ts, on the same
 * books (./campaign-state.ts); admit() expires the due holds before it
 * decides, so a unit that could come back is never answered 410. The
 * rebuild after a restart is ./restore.ts.
 */
export class MemoryAdmission implements AdmissionStore {
  readonly #queue: Queue<Claim>;
  readonly #now: () => number;
  readonly #limiter: RateLimiter | undefined;
  readonly #books: AdmissionBooks = newBooks();
  readonly #keyed: KeyedAnswers;
  readonly #holds: HoldDesk;

  constructor(queue: Queue<Claim>, options: MemoryAdmissionOptions = {}) {
    this.#queue = queue;
    this.#now = options.now ?? Date.now;
    this.#limiter = options.rateLimiter;
    this.#keyed = new KeyedAnswers(this.#now, options.answers, options.idempotencyTtlMs ?? 24 * 3600_000);
    this.#holds = new HoldDesk(this.#books, queue, this.#now);
  }

  /**
   * Rebuild after a restart (./restore.ts), once the campaigns are put: the
   * journal's surviving snapshots (already queued again for the worker) and
   * the ledger's active claims. Holds whose expiresAt has passed stay open
   * here; the next reapExpired() or admit() expires them.
   */
  restore(journal: Iterable<Claim>, ledger: Iterable<Claim> = []): void {
    restoreClaims(this.#books, journal, ledger, (claim) => this.#keyed.restoreAdmitted(claim));
  }

  /**
   * After restore(): the keyed 409/403/410 answers the answer log kept. A 409
   * names a claim restore() brought back; one whose claim is gone is skipped.
   */
  restoreAnswers(answers: Iterable<KeyedAnswer>): void {
    this.#keyed.restoreAnswers(answers, this.#books.claims);
  }

  async putCampaign(campaign: Campaign): Promise<void> {
    const state = this.#books.campaigns.get(campaign.id);
    if (state) state.campaign = campaign;
    else this.#books.campaigns.set(campaign.id, newCampaignState(campaign));
  }

  async getCampaign(campaignId: string): Promise<Campaign | undefined> {
    return this.#books.campaigns.get(campaignId)?.campaign;
  }

  async listCampaigns(): Promise<Campaign[]> {
    return [...this.#books.campaigns.values()].map((s) => s.campaign);
  }

  async counters(campaignId: string): Promise<CampaignCounters | undefined> {
    const state = this.#books.campaigns.get(campaignId);
    return state && { admitted: state.admitted, issued: state.issued, held: state.held };
  }

  admit(request: AdmitRequest): Promise<AdmitOutcome> {
    const { idempotencyKey } = request;
    const state = this.#books.campaigns.get(request.campaignId);
    if (!state) return Promise.resolve(NOT_FOUND);
    if (idempotencyKey === undefined) return this.#admit(state, request);
    return this.#keyed.answer(request, idempotencyKey, () => this.#admit(state, request));
  }

  async #admit(state: CampaignState, request: AdmitRequest): Promise<AdmitOutcome> {
    const { campaignId, userId, idempotencyKey } = request;
    // Due holds give their units back before anything is decided (never a 410 while one could).
    if (state.campaign.holdSeconds) this.#holds.expireDue(state, this.#now());
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
    if (activeClaims(this.#books, state, userId).length >= state.campaign.perUserLimit) return undefined;
    const window = windowState(state.campaign, this.#now());
    if (window !== "open") return Promise.resolve({ kind: "not_active", reason: window, replayed: false });
    if (state.admitted < state.campaign.stock) return undefined;
    // Units reserved by admissions still being fsync'ed are not held yet (see answerOf, ./verdict.ts).
    return state.lastInFlight ? state.lastInFlight.then(() => SOLD_OUT) : Promise.resolve(SOLD_OUT);
  }

  async #decide(
    campaignId: string,
    userId: string,
    idempotencyKey: string | undefined,
  ): Promise<AdmitOutcome> {
    const state = this.#books.campaigns.get(campaignId);
    if (!state) return NOT_FOUND;
    return answerOf(this.#decideNow(state, userId, { idempotencyKey }), state);
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
    if (campaign.holdSeconds) this.#holds.expireDue(state, now);
    const held = activeClaims(this.#books, state, userId);
    if (held.length >= campaign.perUserLimit) {
      const latest = held.at(-1)!;
      return { kind: "already_claimed", claim: latest, durable: this.#books.durable.get(latest.claimId) };
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
    if (campaign.holdSeconds) this.#holds.open(state, claim, now + campaign.holdSeconds * 1000);
    addUserClaim(state, claim);
    this.#books.claims.set(claim.claimId, claim);

    // Until it is durable the claim is not shown (getClaim) nor named in a
    // 409, and a 410 waits for it: the cleanup runs before any caller resumes.
    const durable = this.#queue.publish([snapshotOf(claim, "open", now)]).finally(() => {
      this.#books.durable.delete(claim.claimId);
      if (state.lastInFlight === settled) state.lastInFlight = undefined;
    });
    const settled = durable.then(noop, noop);
    this.#books.durable.set(claim.claimId, settled);
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
    const state = this.#books.campaigns.get(campaignId);
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
    const state = this.#books.campaigns.get(campaignId);
    if (!state) return undefined;
    const { campaign } = state;
    const now = this.#now();
    if (campaign.holdSeconds) this.#holds.expireDue(state, now);
    const window = windowState(campaign, now);
    const free = Math.max(0, campaign.stock - state.admitted);
    const over = window === "ended" || window === "closed";
    const hopeless = over || (free === 0 && (!campaign.holdSeconds || this.#holds.nextDue(state) === null));
    return { free, window, hopeless };
  }

  /** Waiting room: whether the user holds as many active claims as the campaign allows (a release needs no unit then). */
  holdsFullSet(campaignId: string, userId: string): boolean {
    const state = this.#books.campaigns.get(campaignId);
    return (
      state !== undefined && activeClaims(this.#books, state, userId).length >= state.campaign.perUserLimit
    );
  }

  /** Whether admission holds this claim, durable or not (a waiting room's restore asks). */
  hasClaim(claimId: string): boolean {
    return this.#books.claims.has(claimId);
  }

  async getClaim(claimId: string): Promise<Claim | undefined> {
    if (this.#books.durable.has(claimId)) return undefined;
    return this.#books.claims.get(claimId);
  }

  async userClaims(campaignId: string, userId: string): Promise<Claim[]> {
    const claims = this.#books.campaigns.get(campaignId)?.users.get(userId) ?? [];
    return claims.filter((c) => !this.#books.durable.has(c.claimId));
  }

  confirm(claimId: string): Promise<HoldOutcome> {
    return this.#holds.confirm(claimId);
  }

  release(claimId: string): Promise<HoldOutcome> {
    return this.#holds.release(claimId);
  }

  reapExpired(campaignId: string): Promise<ReapResult> {
    return this.#holds.reapExpired(campaignId);
  }

  /**
   * Worker side: the ledger now holds these claims with these statuses.
   * Idempotent: a status already applied changes nothing.
   */
  markWritten(written: readonly Claim[]): Promise<void> {
    return this.#holds.markWritten(written);
  }

  /** One synchronous step: no claim is decided between the check and the change. */
  async changeCampaign(campaignId: string, change: CampaignChange): Promise<ChangeOutcome> {
    const state = this.#books.campaigns.get(campaignId);
    if (!state) return { kind: "campaign_not_found" };
    return changeCampaign(state, change, this.#now);
  }

  async forgetUser(campaignId: string, userId: string): Promise<ForgetOutcome> {
    const state = this.#books.campaigns.get(campaignId);
    if (!state) return { kind: "campaign_not_found" };
    const erased = eraseUser(this.#books, state, userId);
    if (erased === "pending") return { kind: "pending" };
    this.#keyed.forgetUser(campaignId, userId);
    return { kind: "forgotten", claims: erased };
  }

  async ping(): Promise<void> {
    await this.#queue.ping();
  }

  async close(): Promise<void> {}
}
