import type { Claim } from "../../../domain/types.ts";
import type {
  AdmissionStore,
  AdmitOutcome,
  AdmitRequest,
  HoldOutcome,
  ReapResult,
} from "../../../ports/admission.ts";
import { DelegatingAdmission } from "../../delegating-admission.ts";
import { claimRef, type RedisKeys } from "../keys.ts";
import { NotReplicatedError, type ReplicaWait } from "./replica-wait.ts";

/**
 * REDIS_WAIT_REPLICAS (docs/api.md "What a 202 survives"): Redis admission
 * whose answers that name a claim admission may hold alone (202, and 409
 * for a claim not yet in the ledger) are sent only once replicas hold the
 * admission (replica-wait.ts); 503 when they do not in time, the admission
 * standing as after any 503 (a retry is answered 409 naming it, once
 * replicated). Answers that name no claim (410, 403, 404) and issued claims
 * without a hold (issued only once the ledger holds them) do not wait. A
 * hold's claim may be confirmed in Redis before the ledger has it, so
 * answers naming one wait whatever its status.
 *
 * Holds (docs/api.md "Holds") the same way: a confirm or a release answered
 * 200, and the answers that report another decision on the hold (409
 * already confirmed, 410 hold expired: the confirm itself may have expired
 * it), wait as a 202 does. Expiries found by reapExpired() are returned only
 * once replicas hold them (the caller forwards them to the ledger's path:
 * Kafka mode's reaper); those they do not hold yet are left out, and reach
 * the ledger through the campaign's stream or outbox, whose consumers wait
 * for replicas themselves. Everything else passes through.
 */
export class ReplicatedAdmission extends DelegatingAdmission {
  readonly #keys: RedisKeys;
  readonly #wait: ReplicaWait;

  constructor(options: { inner: AdmissionStore; keys: RedisKeys; wait: ReplicaWait }) {
    super(options.inner);
    this.#keys = options.keys;
    this.#wait = options.wait;
  }

  override async admit(request: AdmitRequest): Promise<AdmitOutcome> {
    const outcome = await this.inner.admit(request);
    if (mustWait(outcome)) await this.#after(request.campaignId, outcome.claim.claimId);
    return outcome;
  }

  /** What the inner store answers from memory, unless that answer would have to wait (then admit() asks). */
  override known(request: AdmitRequest): AdmitOutcome | undefined {
    const outcome = this.inner.known?.(request);
    return outcome && !mustWait(outcome) ? outcome : undefined;
  }

  override confirm(claimId: string): Promise<HoldOutcome> {
    return this.#settled(this.inner.confirm(claimId));
  }

  override release(claimId: string): Promise<HoldOutcome> {
    return this.#settled(this.inner.release(claimId));
  }

  override async reapExpired(campaignId: string): Promise<ReapResult> {
    const result = await this.inner.reapExpired(campaignId);
    if (result.expired.length === 0) return result;
    try {
      await this.#after(campaignId);
    } catch (error) {
      if (!(error instanceof NotReplicatedError)) throw error;
      return { ...result, expired: [] };
    }
    return result;
  }

  async #settled(decided: Promise<HoldOutcome>): Promise<HoldOutcome> {
    const outcome = await decided;
    switch (outcome.kind) {
      case "confirmed":
      case "released":
      case "already_confirmed":
      case "hold_expired":
        await this.#after(outcome.claim.campaignId, outcome.claim.claimId);
    }
    return outcome;
  }

  /** Waits for the replicas of the slot the claim was decided in (a campaign over shards: its shard's). */
  #after(campaignId: string, claimId?: string): Promise<void> {
    const ref = claimId === undefined ? campaignId : claimRef(campaignId, claimId);
    return this.#wait.after(this.#keys.campaign(ref).state);
  }
}

/**
 * A 202 or 409 naming a claim the ledger may not hold yet: anything but an
 * issued claim without a hold (a claim without a hold is issued only by a
 * worker that wrote it to the ledger; a hold is confirmed in Redis first).
 */
function mustWait(outcome: AdmitOutcome): outcome is Extract<AdmitOutcome, { claim: Claim }> {
  if (outcome.kind !== "admitted" && outcome.kind !== "already_claimed") return false;
  return outcome.claim.status !== "issued" || outcome.claim.expiresAt !== undefined;
}
