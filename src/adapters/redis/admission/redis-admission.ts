import type { Redis } from "ioredis";
import type { Logger } from "pino";
import { ERASED_PREFIX } from "../../../domain/erasure.ts";
import { StampedeError } from "../../../domain/errors.ts";
import { newClaimId, newCouponCode } from "../../../domain/ids.ts";
import type { Campaign, CampaignCounters, Claim } from "../../../domain/types.ts";
import type {
  AdmissionStore,
  AdmitOutcome,
  AdmitRequest,
  CampaignChange,
  ChangeOutcome,
  ForgetOutcome,
  NotActiveReason,
} from "../../../ports/admission.ts";
import { unpackClaim } from "./claim-codec.ts";
import { ADMIT, CHANGE, FORGET, MARK_ISSUED } from "./codes.ts";
import { campaignTag, type RedisKeys } from "./keys.ts";
import { Rebuilder, type RebuildLedger, type RebuildResult } from "./rebuild.ts";
import { DEFAULT_RETENTION_GRACE_MS } from "./retention.ts";
import { type AdmissionScripts, defineAdmissionScripts } from "./scripts.ts";
import { CACHE_LEASE_MS, SoldOutCache } from "./sold-out-cache.ts";

/**
 * Admission in Redis (distributed mode): one atomic script per claim
 * (scripts/admit-6.lua) decides, reserves and queues. Everything a campaign
 * needs lives under its hash tag (keys.ts). A campaign whose state is missing
 * (Redis flushed or restarted empty) is rebuilt from the ledger before it
 * admits again (rebuild.ts); while that runs, claims are answered 503.
 */
export interface RedisAdmissionLedger extends RebuildLedger {
  listCampaigns(): Promise<Campaign[]>;
  findClaim(claimId: string): Promise<Claim | undefined>;
  userClaims(campaignId: string, userId: string): Promise<Claim[]>;
  issuedCount(campaignId: string): Promise<number>;
}

export interface RedisAdmissionOptions {
  redis: Redis;
  keys: RedisKeys;
  ledger: RedisAdmissionLedger;
  logger: Logger;
  /** Where admitted claims go: the campaign's stream (QUEUE=redis) or its outbox (QUEUE=kafka). */
  sink: "stream" | "outbox";
  /** Entries the stream/outbox may hold; past it claims get 503 instead of a 202 that could not be kept. */
  sinkCap: number;
  /** Claims still queued for a campaign, for rebuilds (see rebuild.ts). */
  queuedClaims: (campaignId: string, context: { epoch: number }) => AsyncIterable<Claim>;
  idempotencyTtlSec?: number;
  /** Sold-out campaigns with at most this many holders are answered from memory; 0 turns the cache off. */
  soldOutCacheMaxHolders?: number;
  /** How long a claim waits for a rebuild before it is answered 503. */
  rebuildWaitMs?: number;
  /** REDIS_RETENTION_GRACE_S in ms: campaigns ended longer ago live in the ledger only (retention.ts). */
  retentionGraceMs?: number;
}

/** "retired": ended longer than the retention grace ago; answered from the ledger, never rebuilt. */
export type EnsureResult = "ready" | "unknown" | "timeout" | "retired";

const DEFINITION_TTL_MS = 1000;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class RedisAdmission implements AdmissionStore {
  readonly #o: RedisAdmissionOptions;
  readonly #redis: Redis;
  readonly #keys: RedisKeys;
  readonly #scripts: AdmissionScripts;
  readonly #rebuilder: Rebuilder;
  readonly #cache: SoldOutCache;
  /** Campaign definitions read recently (they change only through the ledger and a rebuild). */
  readonly #definitions = new Map<string, { campaign: Campaign | undefined; until: number }>();
  /** One ensure() per campaign at a time in this process. */
  readonly #ensuring = new Map<string, Promise<EnsureResult>>();

  constructor(options: RedisAdmissionOptions) {
    this.#o = options;
    this.#redis = options.redis;
    this.#keys = options.keys;
    this.#scripts = defineAdmissionScripts(options.redis);
    this.#rebuilder = new Rebuilder({
      redis: options.redis,
      keys: options.keys,
      scripts: this.#scripts,
      ledger: options.ledger,
      logger: options.logger,
      queuedClaims: options.queuedClaims,
      cacheLeaseMs: CACHE_LEASE_MS,
      idempotencyTtlSec: this.#idempotencyTtl,
      retentionGraceMs: options.retentionGraceMs ?? DEFAULT_RETENTION_GRACE_MS,
    });
    this.#cache = new SoldOutCache(
      options.redis,
      options.keys,
      this.#scripts,
      options.soldOutCacheMaxHolders ?? 100_000,
    );
  }

  get #idempotencyTtl(): number {
    return this.#o.idempotencyTtlSec ?? 24 * 3600;
  }

  get scripts(): AdmissionScripts {
    return this.#scripts;
  }

  /** Rebuilds a campaign's state from the ledger now (loss detection calls this). */
  rebuild(campaignId: string): Promise<RebuildResult> {
    this.#cache.drop(campaignId);
    return this.#rebuilder.rebuild(campaignId);
  }

  /**
   * Makes sure the campaign's state is loaded and open: rebuilds it when it is
   * missing, waits while another process rebuilds it. "unknown": the ledger
   * has no such campaign; "timeout": not ready in time. Throws when Redis or
   * the ledger fails.
   */
  ensure(campaignId: string): Promise<EnsureResult> {
    let running = this.#ensuring.get(campaignId);
    if (!running) {
      running = this.#ensure(campaignId).finally(() => this.#ensuring.delete(campaignId));
      this.#ensuring.set(campaignId, running);
    }
    return running;
  }

  async #ensure(campaignId: string): Promise<EnsureResult> {
    const k = this.#keys.campaign(campaignId);
    const deadline = performance.now() + (this.#o.rebuildWaitMs ?? 10_000);
    for (;;) {
      const status = await this.#redis.hget(k.state, "status");
      if (status !== null && status !== "rebuilding") return "ready";
      if (status === null) {
        const result = await this.rebuild(campaignId);
        if (result === "rebuilt") return "ready";
        if (result === "not_found") return "unknown";
        if (result === "retired") return "retired";
      }
      if (performance.now() > deadline) return "timeout";
      await sleep(50);
    }
  }

  /** ensure(), with failures turned into the contract's 503. */
  async #ready(campaignId: string): Promise<EnsureResult> {
    try {
      return await this.ensure(campaignId);
    } catch (error) {
      throw new StampedeError("unavailable", "The campaign's admission state cannot be rebuilt now.", {
        retryAfter: 1,
        cause: error,
      });
    }
  }

  async putCampaign(campaign: Campaign): Promise<void> {
    this.#definitions.delete(campaign.id);
    const ready = await this.#ready(campaign.id);
    if (ready !== "ready" && ready !== "retired")
      throw new StampedeError("unavailable", "The campaign's admission state is not ready yet.", {
        retryAfter: 1,
      });
  }

  async getCampaign(campaignId: string): Promise<Campaign | undefined> {
    const known = this.#definitions.get(campaignId);
    if (known && known.until > performance.now()) return known.campaign;
    let campaign = await this.#readDefinition(campaignId).catch((error: unknown) => {
      throw new StampedeError("unavailable", "Redis did not answer.", { retryAfter: 1, cause: error });
    });
    if (!campaign) {
      // Missing in Redis: unknown, or lost with Redis. The ledger decides.
      const inLedger = await this.#o.ledger.getCampaign(campaignId).catch((error: unknown) => {
        throw new StampedeError("unavailable", "The ledger did not answer.", { retryAfter: 1, cause: error });
      });
      if (inLedger) void this.ensure(campaignId).catch(() => undefined);
      campaign = inLedger;
    }
    this.#definitions.set(campaignId, { campaign, until: performance.now() + DEFINITION_TTL_MS });
    return campaign;
  }

  async #readDefinition(campaignId: string): Promise<Campaign | undefined> {
    const [name, stock, perUser, startsAt, endsAt, createdAt, status, revision] = await this.#redis.hmget(
      this.#keys.campaign(campaignId).state,
      "name",
      "stock",
      "perUser",
      "startsAt",
      "endsAt",
      "createdAt",
      "status",
      "lifecycleRevision",
    );
    if (name == null || stock == null || perUser == null) return undefined;
    return {
      id: campaignId,
      name,
      stock: Number(stock),
      perUserLimit: Number(perUser),
      startsAt: startsAt ? Number(startsAt) : null,
      endsAt: endsAt ? Number(endsAt) : null,
      createdAt: Number(createdAt),
      // While rebuilding, the status field says so; the ledger's is the one that will come back.
      status: status === "paused" || status === "closed" ? status : "open",
      revision: Number(revision ?? 0),
    };
  }

  listCampaigns(): Promise<Campaign[]> {
    return this.#o.ledger.listCampaigns();
  }

  counters(campaignId: string): Promise<CampaignCounters | undefined> {
    return unavailableOnFailure(this.#counters(campaignId));
  }

  async #counters(campaignId: string): Promise<CampaignCounters | undefined> {
    const k = this.#keys.campaign(campaignId);
    let [status, admitted, issued] = await this.#redis.hmget(k.state, "status", "admitted", "issued");
    if (status === null || status === "rebuilding") {
      const ready = await this.#ready(campaignId);
      if (ready === "retired") {
        const issuedInLedger = await this.#o.ledger.issuedCount(campaignId);
        return { admitted: issuedInLedger, issued: issuedInLedger };
      }
      if (ready !== "ready") return undefined;
      [status, admitted, issued] = await this.#redis.hmget(k.state, "status", "admitted", "issued");
    }
    if (status === null) return undefined;
    return { admitted: Number(admitted), issued: Number(issued) };
  }

  async admit(request: AdmitRequest): Promise<AdmitOutcome> {
    const { campaignId, userId, idempotencyKey } = request;
    if (idempotencyKey === undefined) {
      const cached = this.#cache.lookup(campaignId, userId, Date.now());
      if (cached?.kind === "sold_out") return { kind: "sold_out", replayed: false };
      if (cached?.kind === "holder")
        return {
          kind: "already_claimed",
          claim: this.#reference(campaignId, userId, cached.holder, "issued"),
          replayed: false,
        };
    }
    let reply = await this.#runAdmit(request);
    if (reply[0] === ADMIT.NOT_FOUND || reply[0] === ADMIT.REBUILDING) {
      const ready = await this.#ready(campaignId);
      if (ready === "unknown") return { kind: "campaign_not_found" };
      if (ready === "retired") return this.#retiredOutcome(campaignId, userId);
      if (ready === "timeout") {
        throw new StampedeError("unavailable", "The campaign's admission state is being rebuilt.", {
          retryAfter: 1,
        });
      }
      reply = await this.#runAdmit(request);
    }
    return this.#outcome(campaignId, userId, reply);
  }

  async #runAdmit(request: AdmitRequest): Promise<(string | number)[]> {
    const k = this.#keys.campaign(request.campaignId);
    const key = request.idempotencyKey;
    try {
      return (await this.#scripts.admit(
        k.state,
        k.holders,
        k.claims,
        this.#o.sink === "stream" ? k.stream : k.outbox,
        k.free,
        key === undefined ? k.noIdempotency : k.idempotency(request.userId, key),
        request.campaignId,
        request.userId,
        campaignTag(request.campaignId) + newClaimId(),
        newCouponCode(),
        key ?? "",
        this.#idempotencyTtl,
        this.#o.sink,
        this.#o.sinkCap,
      )) as (string | number)[];
    } catch (error) {
      throw new StampedeError("unavailable", "Redis did not answer.", { retryAfter: 1, cause: error });
    }
  }

  #outcome(campaignId: string, userId: string, reply: (string | number)[]): AdmitOutcome {
    const replayed = reply[1] === 1;
    switch (reply[0]) {
      case ADMIT.ADMITTED:
      case ADMIT.ALREADY_CLAIMED: {
        const [, , claimId, admittedAt, seq, pending, packed] = reply;
        const claim =
          pending === 1
            ? unpackClaim(String(packed))
            : this.#reference(
                campaignId,
                userId,
                { claimId: String(claimId), admittedAt: Number(admittedAt), seq: Number(seq) },
                "issued",
              );
        return reply[0] === ADMIT.ADMITTED
          ? { kind: "admitted", claim, replayed }
          : { kind: "already_claimed", claim, replayed };
      }
      case ADMIT.NOT_ACTIVE:
        return { kind: "not_active", reason: reply[2] as NotActiveReason, replayed };
      case ADMIT.SOLD_OUT:
        this.#cache.soldOut(campaignId);
        return { kind: "sold_out", replayed };
      case ADMIT.SINK_FULL:
        throw new StampedeError("unavailable", "The claims queue is full; retry later.", { retryAfter: 1 });
      default:
        throw new StampedeError("unavailable", "The campaign's admission state is being rebuilt.", {
          retryAfter: 1,
        });
    }
  }

  /**
   * A claim known by reference only (an issued claim has left Redis; the
   * ledger holds it in full): enough for a 409 or a replayed 202, which show
   * neither the unit nor the coupon code.
   */
  #reference(
    campaignId: string,
    userId: string,
    ref: { claimId: string; admittedAt: number; seq: number },
    status: Claim["status"],
  ): Claim {
    return { ...ref, campaignId, userId, unit: 0, couponCode: "", status };
  }

  getClaim(claimId: string): Promise<Claim | undefined> {
    return unavailableOnFailure(this.#getClaim(claimId));
  }

  async #getClaim(claimId: string): Promise<Claim | undefined> {
    const key = this.#keys.claimsOf(claimId);
    if (!key) return undefined;
    const packed = await this.#redis.hget(key, claimId);
    return packed === null ? undefined : unpackClaim(packed);
  }

  userClaims(campaignId: string, userId: string): Promise<Claim[]> {
    return unavailableOnFailure(this.#userClaims(campaignId, userId));
  }

  async #userClaims(campaignId: string, userId: string): Promise<Claim[]> {
    const k = this.#keys.campaign(campaignId);
    const held = await this.#redis.hget(k.holders, userId);
    if (held === null) return [];
    const ids = held.split(",").map((entry) => entry.split(":")[0]!);
    const packed = await this.#redis.hmget(k.claims, ...ids);
    if (packed.every((p) => p !== null)) return packed.map((p) => unpackClaim(p!));
    // Some are issued: the ledger has them in full.
    const issued = new Map((await this.#o.ledger.userClaims(campaignId, userId)).map((c) => [c.claimId, c]));
    const out: Claim[] = [];
    ids.forEach((id, i) => {
      const p = packed[i];
      const claim = p ? unpackClaim(p) : issued.get(id);
      if (claim) out.push(claim);
    });
    return out.sort((a, b) => a.seq - b.seq);
  }

  async markIssued(claims: readonly Claim[]): Promise<void> {
    const byCampaign = new Map<string, string[]>();
    for (const claim of claims) {
      const ids = byCampaign.get(claim.campaignId);
      if (ids) ids.push(claim.claimId);
      else byCampaign.set(claim.campaignId, [claim.claimId]);
    }
    await Promise.all(
      [...byCampaign].map(async ([campaignId, ids]) => {
        const k = this.#keys.campaign(campaignId);
        const [code] = (await this.#scripts.markIssued(k.state, k.claims, ...ids)) as number[];
        if (code === MARK_ISSUED.OK) return;
        // Kafka mode: a rebuild waits until the workers consumed the whole
        // topic, then counts the ledger, which holds these claims already.
        // Retrying would hold the batch's offsets back, and the rebuild would
        // wait for them forever.
        if (this.#o.sink === "outbox") return;
        // The state is missing or being rebuilt: the batch is retried after the
        // rebuild, which counts what the ledger holds. A retired campaign has
        // nothing in Redis to count: the ledger holding the claims is all.
        if (
          code === MARK_ISSUED.NOT_FOUND &&
          (await this.ensure(campaignId).catch(() => "timeout")) === "retired"
        )
          return;
        throw new Error(`campaign ${campaignId} is being rebuilt in Redis; the batch will be retried`);
      }),
    );
  }

  /**
   * A retired campaign (retention.ts) takes no claim: a holder still learns
   * their claim (409 comes first in the contract's order), from the ledger.
   */
  async #retiredOutcome(campaignId: string, userId: string): Promise<AdmitOutcome> {
    const campaign = await this.#o.ledger.getCampaign(campaignId);
    if (!campaign) return { kind: "campaign_not_found" };
    const held = await this.#o.ledger.userClaims(campaignId, userId);
    if (held.length >= campaign.perUserLimit)
      return { kind: "already_claimed", claim: held.at(-1)!, replayed: false };
    return { kind: "not_active", reason: campaign.status === "closed" ? "closed" : "ended", replayed: false };
  }

  async changeCampaign(campaignId: string, change: CampaignChange): Promise<ChangeOutcome> {
    const ready = await this.#ready(campaignId);
    if (ready === "unknown") return { kind: "campaign_not_found" };
    if (ready === "retired") return { kind: "archived" };
    if (ready === "timeout")
      throw new StampedeError("unavailable", "The campaign's admission state is being rebuilt.", {
        retryAfter: 1,
      });
    const definition = await this.#readDefinition(campaignId);
    if (!definition) return { kind: "campaign_not_found" };
    const k = this.#keys.campaign(campaignId);
    const run = (mode: "hold" | "apply") =>
      this.#scripts.changeCampaign(
        k.state,
        k.holders,
        k.stream,
        k.outbox,
        k.free,
        mode,
        change.status ?? "",
        change.stock ?? "",
        change.endsAt === undefined ? "" : change.endsAt === null ? "none" : change.endsAt,
      ) as Promise<(string | number)[]>;
    try {
      if (change.stock !== undefined && change.stock > definition.stock) {
        // More stock: no API process may go on answering 410 from its
        // sold-out cache once it is there. Hold, let every lease run out, apply.
        const held = await run("hold");
        if (held[0] === CHANGE.HELD) await sleep(CACHE_LEASE_MS + 100);
      }
      const reply = await run("apply");
      this.#definitions.delete(campaignId);
      this.#cache.drop(campaignId);
      return this.#changeOutcome(definition, reply);
    } catch (error) {
      if (error instanceof StampedeError) throw error;
      throw new StampedeError("unavailable", "Redis did not answer.", { retryAfter: 1, cause: error });
    }
  }

  #changeOutcome(definition: Campaign, reply: (string | number)[]): ChangeOutcome {
    const endsAt = (v: string | number | undefined) => (v === "" || v === undefined ? null : Number(v));
    switch (reply[0]) {
      case CHANGE.CHANGED: {
        const [, appliedAt, admitted, revision, prevStatus, prevStock, prevEnds, status, stock, ends] = reply;
        const previous: Campaign = {
          ...definition,
          status: prevStatus as Campaign["status"],
          stock: Number(prevStock),
          endsAt: endsAt(prevEnds),
          revision: Number(revision) - 1,
        };
        const campaign: Campaign = {
          ...definition,
          status: status as Campaign["status"],
          stock: Number(stock),
          endsAt: endsAt(ends),
          revision: Number(revision),
        };
        return {
          kind: "changed",
          campaign,
          previous,
          admitted: Number(admitted),
          appliedAt: Number(appliedAt),
        };
      }
      case CHANGE.STOCK_BELOW:
        return { kind: "stock_below_admitted", campaign: definition, admitted: Number(reply[1]) };
      case CHANGE.CLOSED:
        return { kind: "closed", campaign: { ...definition, status: "closed" } };
      case CHANGE.NOT_FOUND:
        return { kind: "campaign_not_found" };
      default:
        throw new StampedeError("unavailable", "The campaign's admission state is being rebuilt.", {
          retryAfter: 1,
        });
    }
  }

  async forgetUser(campaignId: string, userId: string): Promise<ForgetOutcome> {
    const ready = await this.#ready(campaignId);
    if (ready === "unknown") return { kind: "campaign_not_found" };
    // Retired: nothing of the user is left in Redis (the keys expired).
    if (ready === "retired") return { kind: "forgotten", claims: 0 };
    if (ready === "timeout") return { kind: "pending" };
    const k = this.#keys.campaign(campaignId);
    let reply: number[];
    try {
      reply = (await this.#scripts.forgetUser(
        k.state,
        k.holders,
        k.claims,
        userId,
        ERASED_PREFIX,
      )) as number[];
    } catch (error) {
      throw new StampedeError("unavailable", "Redis did not answer.", { retryAfter: 1, cause: error });
    }
    this.#cache.drop(campaignId);
    if (reply[0] === FORGET.FORGOTTEN) return { kind: "forgotten", claims: reply[1] ?? 0 };
    if (reply[0] === FORGET.NOT_FOUND) return { kind: "campaign_not_found" };
    // Pending, or being rebuilt: the caller waits and tries again.
    return { kind: "pending" };
  }

  async ping(): Promise<void> {
    await this.#redis.ping();
  }

  async close(): Promise<void> {
    this.#cache.close();
  }
}

/** A failing Redis or ledger read becomes the contract's 503 (not an unexpected error). */
async function unavailableOnFailure<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (error instanceof StampedeError) throw error;
    throw new StampedeError("unavailable", "A dependency did not answer.", { retryAfter: 1, cause: error });
  }
}
