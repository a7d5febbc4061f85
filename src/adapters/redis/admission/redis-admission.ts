import { StampedeError } from "../../../domain/errors.ts";
import type { Campaign, CampaignCounters, Claim } from "../../../domain/types.ts";
import type {
  AdmissionStore,
  AdmitOutcome,
  AdmitRequest,
  CampaignChange,
  ChangeOutcome,
  ForgetOutcome,
} from "../../../ports/admission.ts";
import { redisScripts } from "../scripts.ts";
import { admit } from "./admit.ts";
import * as claims from "./claims.ts";
import type { AdmissionContext } from "./context.ts";
import { CampaignDefinitions } from "./definitions.ts";
import { forgetUser } from "./erasure.ts";
import { changeCampaign } from "./lifecycle.ts";
import { type RedisAdmissionOptions, resolveOptions } from "./options.ts";
import { Rebuilder, type RebuildResult } from "./rebuild.ts";
import { CACHE_LEASE_MS, SoldOutCache } from "./sold-out-cache.ts";
import { type EnsureResult, StateLoader } from "./state-loader.ts";
import { unavailableOnFailure } from "./unavailable.ts";

/**
 * Admission in Redis (distributed mode): one atomic script per claim
 * (lua/admit-6.lua) decides, reserves and hands the claim to the sink (the
 * campaign's stream, or Kafka mode's outbox). Everything a campaign needs
 * lives under its hash tag (../keys.ts). A campaign whose state is missing
 * (Redis flushed or restarted empty) is rebuilt from the ledger before it
 * admits again (state-loader.ts, rebuild.ts); while that runs, claims are
 * answered 503. The parts: admit.ts (the decision), claims.ts (reads,
 * markIssued), definitions.ts (the definition cache), lifecycle.ts and
 * erasure.ts (admin changes), sold-out-cache.ts (410s from memory).
 */
export class RedisAdmission implements AdmissionStore {
  readonly #ctx: AdmissionContext;

  constructor(options: RedisAdmissionOptions) {
    const o = resolveOptions(options);
    const { redis, keys, ledger, logger, sink } = o;
    const soldOut = new SoldOutCache({ redis, keys, logger, maxHolders: o.soldOutCacheMaxHolders });
    const rebuilder = new Rebuilder({
      redis,
      keys,
      ledger,
      logger,
      queuedClaims: (campaignId, context) => sink.queuedClaims(campaignId, context),
      cacheLeaseMs: CACHE_LEASE_MS,
      idempotencyTtlSec: o.idempotencyTtlSec,
      retentionGraceMs: o.retentionGraceMs,
    });
    const loader = new StateLoader({
      redis,
      keys,
      rebuilder,
      onRebuild: (campaignId) => soldOut.drop(campaignId),
      rebuildWaitMs: o.rebuildWaitMs,
    });
    const definitions = new CampaignDefinitions({
      redis,
      keys,
      ledger,
      ensure: (campaignId) => loader.ensure(campaignId),
      maxSize: o.definitionCacheSize,
      ttlMs: o.definitionTtlMs,
    });
    this.#ctx = {
      redis,
      keys,
      scripts: redisScripts(redis),
      ledger,
      sink,
      loader,
      definitions,
      soldOut,
      idempotencyTtlSec: o.idempotencyTtlSec,
    };
  }

  /** Rebuilds a campaign's state from the ledger now (loss detection calls this). */
  rebuild(campaignId: string): Promise<RebuildResult> {
    return this.#ctx.loader.rebuild(campaignId);
  }

  /** Makes sure the campaign's state is loaded and open (see StateLoader.ensure). */
  ensure(campaignId: string): Promise<EnsureResult> {
    return this.#ctx.loader.ensure(campaignId);
  }

  async putCampaign(campaign: Campaign): Promise<void> {
    this.#ctx.definitions.forget(campaign.id);
    const ready = await this.#ctx.loader.ready(campaign.id);
    if (ready !== "ready" && ready !== "retired")
      throw new StampedeError("unavailable", "The campaign's admission state is not ready yet.", {
        retryAfter: 1,
      });
  }

  getCampaign(campaignId: string): Promise<Campaign | undefined> {
    return this.#ctx.definitions.get(campaignId);
  }

  listCampaigns(): Promise<Campaign[]> {
    return this.#ctx.ledger.listCampaigns();
  }

  counters(campaignId: string): Promise<CampaignCounters | undefined> {
    return unavailableOnFailure(claims.counters(this.#ctx, campaignId));
  }

  admit(request: AdmitRequest): Promise<AdmitOutcome> {
    return admit(this.#ctx, request);
  }

  getClaim(claimId: string): Promise<Claim | undefined> {
    return unavailableOnFailure(claims.getClaim(this.#ctx, claimId));
  }

  userClaims(campaignId: string, userId: string): Promise<Claim[]> {
    return unavailableOnFailure(claims.userClaims(this.#ctx, campaignId, userId));
  }

  markIssued(issued: readonly Claim[]): Promise<void> {
    return claims.markIssued(this.#ctx, issued);
  }

  changeCampaign(campaignId: string, change: CampaignChange): Promise<ChangeOutcome> {
    return changeCampaign(this.#ctx, campaignId, change);
  }

  forgetUser(campaignId: string, userId: string): Promise<ForgetOutcome> {
    return forgetUser(this.#ctx, campaignId, userId);
  }

  async ping(): Promise<void> {
    await this.#ctx.redis.ping();
  }

  async close(): Promise<void> {
    await this.#ctx.soldOut.close();
  }
}
