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
} from "../../ports/admission.ts";
import type { Queue } from "../../ports/queue.ts";
import { IdempotencyCache } from "./idempotency-cache.ts";

/**
 * Admission in one process (embedded mode). Node runs JavaScript on one
 * thread, so the decision and the reservation happen in one synchronous step
 * and need no lock; the claim is then published to the durable queue, and the
 * answer waits for that fsync.
 */
interface CampaignState {
  campaign: Campaign;
  admitted: number;
  issued: number;
  holders: Map<string, Claim[]>;
  /** The newest admission not yet durable: a 410 waits for it (see admit()). */
  lastInFlight: Promise<void> | undefined;
}

export class MemoryAdmission implements AdmissionStore {
  readonly #queue: Queue<Claim>;
  readonly #now: () => number;
  readonly #campaigns = new Map<string, CampaignState>();
  readonly #claims = new Map<string, Claim>();
  /** Claims whose publish has not resolved yet, by claim id. */
  readonly #durable = new Map<string, Promise<void>>();
  readonly #idempotency = new IdempotencyCache<AdmitOutcome>();

  constructor(queue: Queue<Claim>, now: () => number = Date.now) {
    this.#queue = queue;
    this.#now = now;
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
    return state && { admitted: state.admitted, issued: state.issued };
  }

  admit(request: AdmitRequest): Promise<AdmitOutcome> {
    const { campaignId, userId, idempotencyKey } = request;
    if (idempotencyKey === undefined) return this.#decide(campaignId, userId, undefined);
    const key = idemKey(campaignId, userId, idempotencyKey);
    const earlier = this.#idempotency.get(key);
    if (earlier) return earlier.then(replay);
    // Store the promise before deciding, so a concurrent repeat with the same
    // key waits for this answer instead of making a second claim.
    const outcome = this.#decide(campaignId, userId, idempotencyKey);
    this.#idempotency.set(key, outcome);
    outcome.then(
      (o) => {
        if (o.kind === "campaign_not_found") this.#idempotency.delete(key);
      },
      () => this.#idempotency.delete(key),
    );
    return outcome;
  }

  async #decide(
    campaignId: string,
    userId: string,
    idempotencyKey: string | undefined,
  ): Promise<AdmitOutcome> {
    const state = this.#campaigns.get(campaignId);
    if (!state) return { kind: "campaign_not_found" };
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
      return { kind: "sold_out", replayed: false };
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

  async markIssued(claims: readonly Claim[]): Promise<void> {
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

const replay = (outcome: AdmitOutcome): AdmitOutcome =>
  outcome.kind === "campaign_not_found" ? outcome : { ...outcome, replayed: true };
