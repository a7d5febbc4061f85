import { BoundedCache } from "../../../domain/bounded-cache.ts";
import { StampedeError } from "../../../domain/errors.ts";
import type { Campaign } from "../../../domain/types.ts";
import type { RedisClient } from "../connection.ts";
import type { RedisKeys } from "../keys.ts";
import { redisDidNotAnswer } from "./unavailable.ts";

export interface CampaignDefinitionsOptions {
  redis: RedisClient;
  keys: RedisKeys;
  ledger: { getCampaign(campaignId: string): Promise<Campaign | undefined> };
  /** Called for a campaign the ledger knows and Redis does not (lost with Redis): loads it again. */
  ensure: (campaignId: string) => Promise<unknown>;
  maxSize: number;
  ttlMs: number;
}

/**
 * Campaign definitions as one API process reads them: from the campaign's
 * state hash, else from the ledger (the campaign is unknown, or was lost with
 * Redis: then its state is rebuilt in the background). A definition changes
 * only through the ledger and a rebuild, or a lifecycle change, which forgets
 * it here; so each is trusted for `ttlMs`. The cache is a bounded LRU and
 * remembers unknown ids too: a flood of made-up ids costs one read each per
 * `ttlMs`, and never more than `maxSize` entries of memory. Concurrent
 * misses of one campaign share one read: when an entry runs out under load,
 * the hundreds of claims in flight cost one HMGET, not one each.
 */
export class CampaignDefinitions {
  readonly #o: CampaignDefinitionsOptions;
  /** A hit is an object (its campaign may be undefined: a remembered "unknown"); a miss is undefined. */
  readonly #cache: BoundedCache<string, { campaign: Campaign | undefined }>;
  readonly #reading = new Map<string, Promise<Campaign | undefined>>();
  /** Shard counts learned (fixed at creation, so never stale): campaign id -> shards. */
  readonly #shards: BoundedCache<string, number>;

  constructor(options: CampaignDefinitionsOptions) {
    this.#o = options;
    this.#cache = new BoundedCache({ maxSize: options.maxSize, ttlMs: options.ttlMs });
    this.#shards = new BoundedCache({ maxSize: options.maxSize });
  }

  get(campaignId: string): Promise<Campaign | undefined> {
    // One read of the cache: has() then get() could straddle the entry's expiry and read a known
    // campaign as unknown (a 404 for a campaign that exists, about once per TTL under load).
    const hit = this.#cache.get(campaignId);
    if (hit) return Promise.resolve(hit.campaign);
    const shared = this.#reading.get(campaignId);
    if (shared) return shared;
    // Kept only if no forget() came meanwhile (the read may predate the change).
    const current = () => this.#reading.get(campaignId) === reading;
    const reading: Promise<Campaign | undefined> = this.#load(campaignId)
      .then((campaign) => {
        if (current()) this.#cache.set(campaignId, { campaign });
        return campaign;
      })
      .finally(() => {
        if (current()) this.#reading.delete(campaignId);
      });
    this.#reading.set(campaignId, reading);
    return reading;
  }

  async #load(campaignId: string): Promise<Campaign | undefined> {
    let campaign = await this.read(campaignId).catch((error: unknown) => {
      throw redisDidNotAnswer(error);
    });
    if (!campaign) {
      // Missing in Redis: unknown, or lost with Redis. The ledger decides.
      const inLedger = await this.#o.ledger.getCampaign(campaignId).catch((error: unknown) => {
        throw new StampedeError("unavailable", "The ledger did not answer.", { retryAfter: 1, cause: error });
      });
      if (inLedger) void this.#o.ensure(campaignId).catch(() => undefined);
      campaign = inLedger;
    }
    return campaign;
  }

  /**
   * The campaign's shard count as far as this process knows, without a read
   * (admission picks a user's slot with it; a wrong guess is told the right
   * count by admit-9.lua): `shards` is fixed at creation, so once learned it
   * never goes stale, whatever the definition's TTL.
   */
  shards(campaignId: string): number | undefined {
    return this.#shards.get(campaignId);
  }

  /** admit-9.lua said how many shards the campaign has. */
  learnShards(campaignId: string, shards: number): void {
    this.#shards.set(campaignId, shards);
  }

  /** The campaign's state changed under this process: read it again next time. */
  forget(campaignId: string): void {
    this.#cache.delete(campaignId);
    // A read in flight may have started before the change: the next get() reads again.
    this.#reading.delete(campaignId);
  }

  /** The definition in Redis now (no cache), or undefined when the state is missing. */
  async read(campaignId: string): Promise<Campaign | undefined> {
    const [
      name,
      stock,
      perUser,
      startsAt,
      endsAt,
      createdAt,
      status,
      revision,
      holdSec,
      roomPre,
      roomRate,
      roomSeed,
      roomCommit,
      shards,
      campaignStock,
    ] = await this.#o.redis.hmget(
      this.#o.keys.campaign(campaignId).state,
      "name",
      "stock",
      "perUser",
      "startsAt",
      "endsAt",
      "createdAt",
      "status",
      "lifecycleRevision",
      "holdSec",
      "roomPre",
      "roomRate",
      "roomSeed",
      "roomCommit",
      "shards",
      "campaignStock",
    );
    if (name == null || stock == null || perUser == null) return undefined;
    const campaign: Campaign = {
      id: campaignId,
      name,
      // A shard's `stock` is its slice; the campaign's is kept beside it.
      stock: Number(campaignStock ?? stock),
      perUserLimit: Number(perUser),
      startsAt: startsAt ? Number(startsAt) : null,
      endsAt: endsAt ? Number(endsAt) : null,
      createdAt: Number(createdAt),
      // While rebuilding, the status field says so; the ledger's is the one that will come back.
      status: status === "paused" || status === "closed" ? status : "open",
      revision: Number(revision ?? 0),
    };
    // Only campaigns with holds say so: one without reads as before holds.
    if (holdSec) campaign.holdSeconds = Number(holdSec);
    if (shards && Number(shards) > 1) campaign.shards = Number(shards);
    this.#shards.set(campaignId, campaign.shards ?? 1);
    if (roomPre)
      campaign.waitingRoom = {
        prequeueSeconds: Number(roomPre),
        releasePerSecond: roomRate ? Number(roomRate) : null,
        seed: roomSeed ?? "",
        commitment: roomCommit ?? "",
      };
    return campaign;
  }
}
