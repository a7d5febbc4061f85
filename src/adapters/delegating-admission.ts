import type { Campaign, CampaignCounters, Claim } from "../domain/types.ts";
import type {
  AdmissionStore,
  AdmitOutcome,
  AdmitRequest,
  CampaignChange,
  ChangeOutcome,
  ForgetOutcome,
  HoldOutcome,
  ReapResult,
} from "../ports/admission.ts";

/**
 * An admission store that wraps another and passes every call through to
 * it: the base of the wrappers that change only a few answers (Kafka mode's
 * kafka/admission/kafka-admission.ts, REDIS_WAIT_REPLICAS'
 * redis/replicas/replicated-admission.ts), which override those.
 */
export abstract class DelegatingAdmission implements AdmissionStore {
  protected readonly inner: AdmissionStore;

  constructor(inner: AdmissionStore) {
    this.inner = inner;
  }

  admit(request: AdmitRequest): Promise<AdmitOutcome> {
    return this.inner.admit(request);
  }

  known(request: AdmitRequest): AdmitOutcome | undefined {
    return this.inner.known?.(request);
  }

  putCampaign(campaign: Campaign): Promise<void> {
    return this.inner.putCampaign(campaign);
  }

  getCampaign(campaignId: string): Promise<Campaign | undefined> {
    return this.inner.getCampaign(campaignId);
  }

  listCampaigns(): Promise<Campaign[]> {
    return this.inner.listCampaigns();
  }

  counters(campaignId: string): Promise<CampaignCounters | undefined> {
    return this.inner.counters(campaignId);
  }

  getClaim(claimId: string): Promise<Claim | undefined> {
    return this.inner.getClaim(claimId);
  }

  userClaims(campaignId: string, userId: string): Promise<Claim[]> {
    return this.inner.userClaims(campaignId, userId);
  }

  markWritten(claims: readonly Claim[]): Promise<void> {
    return this.inner.markWritten(claims);
  }

  confirm(claimId: string): Promise<HoldOutcome> {
    return this.inner.confirm(claimId);
  }

  release(claimId: string): Promise<HoldOutcome> {
    return this.inner.release(claimId);
  }

  reapExpired(campaignId: string): Promise<ReapResult> {
    return this.inner.reapExpired(campaignId);
  }

  changeCampaign(campaignId: string, change: CampaignChange): Promise<ChangeOutcome> {
    return this.inner.changeCampaign(campaignId, change);
  }

  forgetUser(campaignId: string, userId: string): Promise<ForgetOutcome> {
    return this.inner.forgetUser(campaignId, userId);
  }

  ping(): Promise<void> {
    return this.inner.ping();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
