import type { Campaign, CampaignCounters, Claim } from "../../../domain/types.ts";
import type {
  AdmissionStore,
  AdmitOutcome,
  AdmitRequest,
  CampaignChange,
  ChangeOutcome,
  ForgetOutcome,
} from "../../../ports/admission.ts";
import type { RedisKeys } from "../keys.ts";
import type { ReplicaWait } from "./replica-wait.ts";

/**
 * REDIS_WAIT_REPLICAS (docs/api.md "What a 202 survives"): Redis admission
 * whose answers that name a pending claim (202, and 409 for a claim not yet
 * in the ledger) are sent only once replicas hold the admission
 * (replica-wait.ts); 503 when they do not in time, the admission standing
 * as after any 503 (a retry is answered 409 naming it, once replicated).
 * Answers that name no claim (410, 403, 404) and issued claims (in the
 * ledger already) do not wait. Everything else passes through.
 */
export class ReplicatedAdmission implements AdmissionStore {
  readonly #inner: AdmissionStore;
  readonly #keys: RedisKeys;
  readonly #wait: ReplicaWait;

  constructor(options: { inner: AdmissionStore; keys: RedisKeys; wait: ReplicaWait }) {
    this.#inner = options.inner;
    this.#keys = options.keys;
    this.#wait = options.wait;
  }

  async admit(request: AdmitRequest): Promise<AdmitOutcome> {
    const outcome = await this.#inner.admit(request);
    if (
      (outcome.kind === "admitted" || outcome.kind === "already_claimed") &&
      outcome.claim.status !== "issued"
    )
      await this.#wait.after(this.#keys.campaign(request.campaignId).state);
    return outcome;
  }

  putCampaign(campaign: Campaign): Promise<void> {
    return this.#inner.putCampaign(campaign);
  }

  getCampaign(campaignId: string): Promise<Campaign | undefined> {
    return this.#inner.getCampaign(campaignId);
  }

  listCampaigns(): Promise<Campaign[]> {
    return this.#inner.listCampaigns();
  }

  counters(campaignId: string): Promise<CampaignCounters | undefined> {
    return this.#inner.counters(campaignId);
  }

  getClaim(claimId: string): Promise<Claim | undefined> {
    return this.#inner.getClaim(claimId);
  }

  userClaims(campaignId: string, userId: string): Promise<Claim[]> {
    return this.#inner.userClaims(campaignId, userId);
  }

  markIssued(claims: readonly Claim[]): Promise<void> {
    return this.#inner.markIssued(claims);
  }

  changeCampaign(campaignId: string, change: CampaignChange): Promise<ChangeOutcome> {
    return this.#inner.changeCampaign(campaignId, change);
  }

  forgetUser(campaignId: string, userId: string): Promise<ForgetOutcome> {
    return this.#inner.forgetUser(campaignId, userId);
  }

  ping(): Promise<void> {
    return this.#inner.ping();
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}
