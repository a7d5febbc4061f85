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
import { IdempotencyCache } from "./idempotency-cache.ts";

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

interface CampaignState {
  campaign: Campaign;
  admitted: number;
  issued: number;
  holders: Map<string, Claim[]>;
  /** The newest admission not yet durable: a 410 waits for it (see admit()). */
  lastInFlight: Promise<void> | undefined;
}

const SOLD_OUT: AdmitOutcome = Object.freeze({ kind: "sold_out", replayed: false });
const NOT_FOUND: AdmitOutcome = Object.freeze({ kind: "campaign_not_found" });

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
 */
export class MemoryAdmission implements AdmissionStore {
  readonly #queue: Queue<Claim>;
  readonly #now: () => number;
  readonly #limiter: RateLimiter | undefined;
  readonly #answers: AnswerLog | undefined;
  readonly #ttlMs: number;
  readonly #campaigns = new Map<string, CampaignState>();
  readonly #claims = new Map<string, Claim>();
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

  /** Rebuild after a restart: claims from the ledger (issued) and the journal (pending). */
  restore(claims: Iterable<Claim>): void {
    for (const claim of claims) {
      const state = this.#campaigns.get(claim.campaignId);
      if (!state || this.#claims.has(claim.claimId)) continue;
      this.#claims.set(claim.claimId, claim);
      const held = state.holders.get(claim.userId) ?? [];
      held.push(claim);
      held.sort((a, b) => a.seq - b.seq);
      state.holders.set(claim.userId, held);
      state.admitted++;
      if (claim.status === "issued") state.issued++;
      if (claim.idempotencyKey !== undefined)
        this.#idempotency.set(idemKey(claim.campaignId, claim.userId, claim.idempotencyKey), {
          kind: "admitted",
          claim,
          replayed: false,
        });
    }
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
        holders: new Map(),
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
    return state && { admitted: state.admitted, issued: state.issued, held: 0 };
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
    const held = state.holders.get(userId);
    if (held && held.length >= state.campaign.perUserLimit) return undefined;
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
    const { campaign } = state;
    const held = state.holders.get(userId);
    if (held && held.length >= campaign.perUserLimit) {
      const latest = held.at(-1)!;
      // The claim may still be on its way to disk: never name a claim that a
      // crash could still undo.
      await this.#durable.get(latest.claimId);
      return { kind: "already_claimed", claim: latest, replayed: false };
    }
    const now = this.#now();
    const window = windowState(campaign, now);
    if (window !== "open") return { kind: "not_active", reason: window, replayed: false };
    if (state.admitted >= campaign.stock) {
      // Units reserved by admissions still being fsync'ed are not held yet;
      // a 410 must wait until they are (invariant 4, docs/api.md).
      await state.lastInFlight;
      return SOLD_OUT;
    }

    state.admitted++;
    const claim: Claim = {
      claimId: newClaimId(),
      campaignId,
      userId,
      seq: (held?.length ?? 0) + 1,
      unit: state.admitted,
      couponCode: newCouponCode(),
      admittedAt: now,
      status: "pending",
      idempotencyKey,
    };
    if (held) held.push(claim);
    else state.holders.set(userId, [claim]);
    this.#claims.set(claim.claimId, claim);

    const durable = this.#queue.publish([claim]);
    const settled = durable.then(
      () => undefined,
      () => undefined,
    );
    this.#durable.set(claim.claimId, settled);
    state.lastInFlight = settled;
    try {
      await durable;
    } finally {
      this.#durable.delete(claim.claimId);
      if (state.lastInFlight === settled) state.lastInFlight = undefined;
    }
    // A failed publish throws: the API answers 503 and the reservation stays
    // (the bytes may have reached the disk; the journal now refuses appends).
    return { kind: "admitted", claim, replayed: false };
  }

  async getClaim(claimId: string): Promise<Claim | undefined> {
    if (this.#durable.has(claimId)) return undefined;
    return this.#claims.get(claimId);
  }

  async userClaims(campaignId: string, userId: string): Promise<Claim[]> {
    const held = this.#campaigns.get(campaignId)?.holders.get(userId) ?? [];
    return held.filter((c) => !this.#durable.has(c.claimId));
  }

  confirm(_claimId: string): Promise<HoldOutcome> {
    throw new Error("holds: not implemented yet");
  }

  release(_claimId: string): Promise<HoldOutcome> {
    throw new Error("holds: not implemented yet");
  }

  reapExpired(_campaignId: string): Promise<ReapResult> {
    throw new Error("holds: not implemented yet");
  }

  async markWritten(written: readonly Claim[]): Promise<void> {
    const claims = written.filter((c) => c.status === "issued");
    for (const issued of claims) {
      const claim = this.#claims.get(issued.claimId);
      if (!claim || claim.status === "issued") continue;
      claim.status = "issued";
      claim.issuedAt = issued.issuedAt;
      const state = this.#campaigns.get(claim.campaignId);
      if (state) state.issued++;
    }
  }

  /** One synchronous step: no claim is decided between the check and the change. */
  async changeCampaign(campaignId: string, change: CampaignChange): Promise<ChangeOutcome> {
    const state = this.#campaigns.get(campaignId);
    if (!state) return { kind: "campaign_not_found" };
    const previous = state.campaign;
    if (previous.status === "closed") return { kind: "closed", campaign: previous };
    // Units are handed out 1..admitted in this store, so admitted is also the highest unit.
    if (change.stock !== undefined && change.stock < state.admitted)
      return { kind: "stock_below_admitted", campaign: previous, admitted: state.admitted };
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
    const held = state.holders.get(userId) ?? [];
    if (held.some((c) => c.status === "pending")) return { kind: "pending" };
    for (const claim of held) {
      // The same object sits in #claims and in idempotency answers: renaming
      // it here renames it everywhere.
      claim.userId = erasedUserId(claim.claimId);
      claim.idempotencyKey = undefined;
      state.holders.set(claim.userId, [claim]);
    }
    state.holders.delete(userId);
    this.#idempotency.deletePrefix(`${campaignId}\u0000${userId}\u0000`);
    return { kind: "forgotten", claims: held.length };
  }

  async ping(): Promise<void> {
    await this.#queue.ping();
  }

  async close(): Promise<void> {}
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
