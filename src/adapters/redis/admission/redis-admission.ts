import { StampedeError } from "../../../domain/errors.ts";
import type { Campaign, CampaignCounters, Claim } from "../../../domain/types.ts";
import type {
  AdmissionStore,
  AdmitOutcome,
  AdmitRequest,
  CampaignChange,
  ChangeOutcome,
  ForgetOutcome,
  HoldOutcome,
  ReapResult,
} from "../../../ports/admission.ts";
import { redisScripts } from "../scripts.ts";
import { RedisWaitingRoom, type RedisWaitingRoomOptions } from "../waiting-room/redis-waiting-room.ts";
import { admit, known } from "./admit.ts";
import { CampaignEvents } from "./campaign-events.ts";
import * as claims from "./claims.ts";
import type { AdmissionContext } from "./context.ts";
import { CampaignDefinitions } from "./definitions.ts";
import { forgetUser } from "./erasure.ts";
import * as holds from "./holds.ts";
import { changeCampaign } from "./lifecycle.ts";
import { CACHE_LEASE_MS, MemoryAnswers } from "./memory-answers.ts";
import { type RedisAdmissionOptions, resolveOptions } from "./options.ts";
import { Rebuilder, type RebuildResult } from "./rebuild.ts";
import { SETTLE_AFTER_MS, settle } from "./shards.ts";
import { type EnsureResult, StateLoader } from "./state-loader.ts";
import { unavailableOnFailure } from "./unavailable.ts";

/**
 * Admission in Redis (distributed mode): one atomic script per claim
 * (lua/admit-9.lua) applies the rate limits, decides, reserves and hands the
 * claim to the sink (the campaign's stream, or Kafka mode's outbox): one
 * Redis command per admitted claim. Everything a campaign needs lives under
 * its hash tag (../keys.ts). A campaign whose state is missing (Redis flushed
 * or restarted empty) is rebuilt from the ledger before it admits again
 * (state-loader.ts, rebuild.ts); while that runs, claims are answered 503.
 * The parts: admit.ts (the decision), memory-answers.ts (410, 403 and 409
 * from memory, no Redis call) and campaign-events.ts (the pub/sub channel
 * that keeps them current), claims.ts (reads, markWritten), holds.ts
 * (confirm, release, reaping: one script each), definitions.ts (the
 * definition cache), lifecycle.ts and erasure.ts (admin changes).
 */
export class RedisAdmission implements AdmissionStore {
  readonly #ctx: AdmissionContext;
  readonly #subscribed: Promise<void>;

  constructor(options: RedisAdmissionOptions) {
    const o = resolveOptions(options);
    const { redis, keys, ledger, logger, sink } = o;
    const memory = new MemoryAnswers({ redis, keys, logger, maxHolders: o.soldOutCacheMaxHolders });
    const events = new CampaignEvents({ publisher: redis, channel: keys.campaignEventsChannel, logger });
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
      onRebuild: (campaignId) => {
        memory.drop(campaignId);
        void events.publish("rebuilding", campaignId);
      },
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
      logger,
      sink,
      loader,
      definitions,
      memory,
      events,
      idempotencyTtlSec: o.idempotencyTtlSec,
      rateUser: o.rateLimit?.user,
      rateIp: o.rateLimit?.ip,
    };
    // API processes hear what changes elsewhere (memory-answers.ts); a failed subscription only makes
    // memory answers less prompt, never wrong.
    this.#subscribed =
      o.subscriber && memory.enabled
        ? events
            .subscribe({
              subscriber: o.subscriber,
              onEvent: (kind, campaignId) => {
                if (kind === "sold_out") return memory.want(campaignId, true);
                // A unit came back: nothing remembered depends on it (memory-answers.ts, holds).
                if (kind === "returned") return;
                memory.drop(campaignId);
                if (kind === "changed" || kind === "rebuilding") definitions.forget(campaignId);
                if (kind === "changed") memory.want(campaignId, true);
              },
              onResubscribed: () => memory.clear(),
            })
            .catch((error: unknown) => logger.warn({ err: error }, "campaign events: cannot subscribe"))
        : Promise.resolve();
  }

  /**
   * The campaigns' waiting rooms (docs/api.md "Waiting room"), in the same
   * Redis: a release is an admission, with this store's sink, rate limits
   * and state loader.
   */
  waitingRoom(options: RedisWaitingRoomOptions = {}): RedisWaitingRoom {
    return new RedisWaitingRoom(this.#ctx, options);
  }

  /** Resolves once this process listens to the campaign events channel (when it does). */
  subscribed(): Promise<void> {
    return this.#subscribed;
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

  known(request: AdmitRequest): AdmitOutcome | undefined {
    return known(this.#ctx, request);
  }

  getClaim(claimId: string): Promise<Claim | undefined> {
    return unavailableOnFailure(claims.getClaim(this.#ctx, claimId));
  }

  userClaims(campaignId: string, userId: string): Promise<Claim[]> {
    return unavailableOnFailure(claims.userClaims(this.#ctx, campaignId, userId));
  }

  confirm(claimId: string): Promise<HoldOutcome> {
    return unavailableOnFailure(holds.settle(this.#ctx, "confirm", claimId));
  }

  release(claimId: string): Promise<HoldOutcome> {
    return unavailableOnFailure(holds.settle(this.#ctx, "release", claimId));
  }

  reapExpired(campaignId: string): Promise<ReapResult> {
    return holds.reapExpired(this.#ctx, campaignId);
  }

  /** The campaigns with holds (the reapers' list; Rebuilder adds each when it opens its state). */
  holdCampaigns(): Promise<string[]> {
    return this.#ctx.redis.smembers(this.#ctx.keys.holdsRegistry);
  }

  /**
   * Applies the transfers between shards left unsettled (a crash between a give and its take) of
   * every campaign over shards; how many units landed (the workers' TransferSweep).
   */
  async settleTransfers(olderThanMs = SETTLE_AFTER_MS): Promise<number> {
    let landed = 0;
    for (const campaignId of await this.#ctx.redis.smembers(this.#ctx.keys.shardedRegistry)) {
      const shards = (await this.#ctx.definitions.get(campaignId))?.shards ?? 1;
      if (shards > 1) landed += await settle(this.#ctx, campaignId, shards, olderThanMs);
    }
    return landed;
  }

  markWritten(written: readonly Claim[]): Promise<void> {
    return claims.markWritten(this.#ctx, written);
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
    this.#ctx.events.close();
    await this.#ctx.memory.close();
  }
}
