/**
 * The answers the embedded admission gave to Idempotency-Keys: a repeat of a
 * key is answered what the first request was answered (never 429). Keyed
 * answers other than 202 are made durable in the answer log (./answer-log.ts)
 * before they are given (a 202's key is in its claim), so a repeat after a
 * restart gets the same answer.
 */
import { createHash } from "node:crypto";
import type { Claim } from "../../domain/types.ts";
import type { AdmitOutcome, AdmitRequest, NotActiveReason } from "../../ports/admission.ts";
import type { AnswerLog, KeyedAnswer } from "./answer-log.ts";
import { IdempotencyCache } from "./idempotency-cache.ts";

const SOLD_OUT: AdmitOutcome = Object.freeze({ kind: "sold_out", replayed: false });

export class KeyedAnswers {
  readonly #now: () => number;
  readonly #answers: AnswerLog | undefined;
  readonly #ttlMs: number;
  /** Answers to keys, by campaign, user and key (erasure drops a user's by prefix). */
  readonly #idempotency: IdempotencyCache<AdmitOutcome>;
  /** Answers read back from the answer log at start, by answerHash (the log keeps no userIds). */
  readonly #restoredAnswers: IdempotencyCache<AdmitOutcome>;

  constructor(now: () => number, answers: AnswerLog | undefined, ttlMs: number) {
    this.#now = now;
    this.#answers = answers;
    this.#ttlMs = ttlMs;
    this.#idempotency = new IdempotencyCache(1_000_000, ttlMs);
    this.#restoredAnswers = new IdempotencyCache(1_000_000, ttlMs);
  }

  /**
   * The answer to a keyed request: the earlier one replayed, or `decide()`'s,
   * stored before it is decided so that a concurrent repeat with the same
   * key waits for this answer instead of making a second claim.
   */
  answer(request: AdmitRequest, key: string, decide: () => Promise<AdmitOutcome>): Promise<AdmitOutcome> {
    const { campaignId, userId } = request;
    const cacheKey = idemKey(campaignId, userId, key);
    const earlier = this.#idempotency.get(cacheKey) ?? this.#restoredAnswer(campaignId, userId, key);
    if (earlier) return earlier.then(replay);
    const outcome = decide().then((o) => this.#remember(request, key, o));
    this.#idempotency.set(cacheKey, outcome);
    outcome.then(
      (o) => {
        // Nothing was decided: a repeat asks again.
        if (o.kind === "campaign_not_found" || o.kind === "rate_limited") this.#idempotency.delete(cacheKey);
      },
      () => this.#idempotency.delete(cacheKey),
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

  /** After a restart: a restored claim's key answers with its claim (202). */
  restoreAdmitted(claim: Claim): void {
    if (claim.idempotencyKey !== undefined)
      this.#idempotency.set(idemKey(claim.campaignId, claim.userId, claim.idempotencyKey), {
        kind: "admitted",
        claim,
        replayed: false,
      });
  }

  /**
   * After the claims are restored: the keyed 409/403/410 answers the answer
   * log kept. A 409 names a restored claim; one whose claim is gone is skipped.
   */
  restoreAnswers(answers: Iterable<KeyedAnswer>, claims: ReadonlyMap<string, Claim>): void {
    for (const answer of answers) {
      let outcome: AdmitOutcome | undefined;
      if (answer.a === "S") outcome = SOLD_OUT;
      else if (answer.a === "N")
        outcome = { kind: "not_active", reason: answer.v as NotActiveReason, replayed: false };
      else {
        const claim = claims.get(answer.v ?? "");
        if (claim) outcome = { kind: "already_claimed", claim, replayed: false };
      }
      if (outcome) this.#restoredAnswers.set(answer.h, outcome, answer.t + this.#ttlMs);
    }
  }

  /** Erasure: the user's answers go (their claims are renamed by the caller). */
  forgetUser(campaignId: string, userId: string): void {
    this.#idempotency.deletePrefix(`${campaignId}\u0000${userId}\u0000`);
  }
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
