import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import type { Campaign, Claim } from "../../../domain/types.ts";
import { PeriodicTask } from "../../../workers/periodic-task.ts";
import { packClaim, SEPARATOR } from "../claim-codec.ts";
import type { RedisClient } from "../connection.ts";
import type { RedisKeys } from "../keys.ts";
import { redisScripts, type Scripts } from "../scripts.ts";
import { planRebuild } from "./rebuild-plan.ts";
import { type LoadParts, rebuildShards } from "./rebuild-shards.ts";
import { isRetired } from "./retention.ts";

/** What a rebuild reads from the ledger. */
export interface RebuildLedger {
  getCampaign(campaignId: string): Promise<Campaign | undefined>;
  /** Live claims (held, issued), with their status and expiresAt. */
  campaignClaims(campaignId: string): AsyncIterable<Claim>;
  /** Final claims (issued, expired, released), a page at a time: a campaign with holds reads its ended ones. */
  exportClaims(campaignId: string): AsyncIterable<readonly Claim[]>;
  /** Increments and returns the campaign's Redis epoch: the fencing token of one rebuild. */
  nextRedisEpoch(campaignId: string): Promise<number>;
}

export interface RebuildOptions {
  redis: RedisClient;
  keys: RedisKeys;
  ledger: RebuildLedger;
  logger: Logger;
  /**
   * Claims still queued for the campaign (the stream's; Kafka mode waits for
   * lag 0 and yields none). `epoch` 1 is the campaign's first state ever:
   * nothing of it can be queued yet.
   */
  queuedClaims: (campaignId: string, context: { epoch: number }) => AsyncIterable<Claim>;
  /** How long an API process may trust what it answers from memory (memory-answers.ts); waited out before admitting. */
  cacheLeaseMs: number;
  idempotencyTtlSec: number;
  lockTtlMs?: number;
  chunkSize?: number;
  /** REDIS_RETENTION_GRACE_S in ms: a campaign ended longer ago is not rebuilt. */
  retentionGraceMs?: number;
}

/** "retired": the campaign ended longer than the retention grace ago; it lives in the ledger only (retention.ts). */
export type RebuildResult = "rebuilt" | "busy" | "superseded" | "not_found" | "retired";

export function definitionFields(campaign: Campaign): (string | number)[] {
  const fields = [
    "name",
    campaign.name,
    "stock",
    campaign.stock,
    "perUser",
    campaign.perUserLimit,
    "startsAt",
    campaign.startsAt ?? "",
    "endsAt",
    campaign.endsAt ?? "",
    "createdAt",
    campaign.createdAt,
    "lifecycleRevision",
    campaign.revision ?? 0,
    "holdSec",
    campaign.holdSeconds ?? "",
  ];
  // Only campaigns with a waiting room say so (fixed at creation): its seed too, from which the API
  // processes compute drawValues (the ledger holds it; Redis, like the ledger, is inside the trust
  // boundary). The line's own fields (roomServed, roomKey...) are the line's: a rebuild keeps them.
  const room = campaign.waitingRoom;
  if (room)
    fields.push(
      "roomPre",
      room.prequeueSeconds,
      "roomRate",
      room.releasePerSecond ?? "",
      "roomSeed",
      room.seed,
      "roomCommit",
      room.commitment,
    );
  return fields;
}

/**
 * Rebuilds one campaign's Redis state from the ledger (the truth) plus the
 * claims still queued, before any new claim of it is admitted (invariant
 * 6, docs/api.md). Steps:
 *
 * 1. take the rebuild lock (SET NX PX, extended while working) so that two
 *    processes noticing the same loss do the work once;
 * 2. take a new epoch from the ledger and mark the state `rebuilding` with it
 *    (rebuild-begin): admission answers 503 from here on, and only the
 *    highest epoch may write, so even a rebuilder whose lock expired cannot
 *    write over a newer rebuild;
 * 3. read the queued snapshots, THEN the ledger: a snapshot leaves the queue
 *    only after the ledger applied it, so reading in this order misses none;
 *    each claim takes its newest state (rebuild-plan.ts: held holds back in
 *    the expiries, confirmed and ended ones readable until the ledger has
 *    them, units held by live claims only);
 * 4. write holders, claims, freed units, expiries and idempotency records in
 *    fenced chunks (rebuild-load);
 * 5. wait until API processes' sold-out caches can no longer be trusted
 *    (their lease runs out), then set the counters and admit again
 *    (rebuild-open).
 *
 * Units handed out again are only those no surviving claim holds, and the
 * ledger's unique (campaign, unit) key refuses a second holder anyway.
 */
export class Rebuilder {
  readonly #o: RebuildOptions;
  readonly #scripts: Scripts;

  constructor(options: RebuildOptions) {
    this.#o = options;
    this.#scripts = redisScripts(options.redis);
  }

  async rebuild(campaignId: string): Promise<RebuildResult> {
    const { redis, keys, logger } = this.#o;
    const scripts = this.#scripts;
    const k = keys.campaign(campaignId);
    const lockTtl = this.#o.lockTtlMs ?? 30_000;
    const token = randomBytes(12).toString("base64url");
    if ((await redis.set(k.lock, token, "PX", lockTtl, "NX")) !== "OK") return "busy";
    const keepLock = new PeriodicTask({
      intervalMs: Math.max(100, lockTtl / 3),
      run: () => scripts.lockExtend([k.lock], [token, lockTtl]),
      logger,
      failureMessage: "could not extend the rebuild lock; retrying",
    });
    keepLock.start();
    try {
      return await this.#rebuildLocked(campaignId);
    } finally {
      await keepLock.stop();
      await scripts.lockRelease([k.lock], [token]).catch(() => undefined);
    }
  }

  async #rebuildLocked(campaignId: string): Promise<RebuildResult> {
    const { redis, keys, ledger, logger } = this.#o;
    const scripts = this.#scripts;
    const k = keys.campaign(campaignId);
    const started = performance.now();
    const campaign = await ledger.getCampaign(campaignId);
    if (!campaign) return "not_found";
    if (isRetired(campaign, Date.now(), this.#o.retentionGraceMs)) return "retired";
    const epoch = await ledger.nextRedisEpoch(campaignId);
    const shards = campaign.shards ?? 1;
    if (shards > 1)
      return rebuildShards(
        {
          options: this.#o,
          scripts,
          definition: definitionFields,
          stale: (claimsKey, id, keep) => this.#stale(claimsKey, id, keep),
          load: (ref, at, parts) => this.#load(ref, at, parts),
        },
        campaign,
        epoch,
        started,
      );
    if (
      (await scripts.rebuildBegin(
        [k.state, k.holders, k.free, k.expiries],
        [epoch, ...definitionFields(campaign)],
      )) !== 1
    )
      return "superseded";
    const markedAt = performance.now();

    // Queue first, ledger second (see the header).
    const queued: Claim[] = [];
    for await (const claim of this.#o.queuedClaims(campaignId, { epoch }))
      if (claim.campaignId === campaignId) queued.push(claim);
    const live: Claim[] = [];
    for await (const claim of ledger.campaignClaims(campaignId)) live.push(claim);
    const ended: Claim[] = [];
    if (campaign.holdSeconds)
      for await (const page of ledger.exportClaims(campaignId))
        for (const claim of page)
          if (claim.status === "expired" || claim.status === "released") ended.push(claim);
    const plan = planRebuild({ stock: campaign.stock, queued, live, ended });
    const keep = new Set(plan.claims.map((c) => c.claimId));
    const drop = await this.#stale(k.claims, campaignId, keep);

    const ok = await this.#load(campaignId, epoch, {
      holders: plan.holders,
      claims: plan.claims.map((c) => [c.claimId, packClaim(c)] as [string, string]),
      drop,
      free: plan.free,
      expiries: plan.expiries,
      idempotency: plan.idempotency,
    });
    if (!ok) return "superseded";

    // Epoch 1 is the campaign's first state ever: no process can have cached anything about it.
    const wait = epoch === 1 ? 0 : this.#o.cacheLeaseMs + 100 - (performance.now() - markedAt);
    if (wait > 0) await sleep(wait);
    // The lifecycle status (open, paused, closed) comes from the ledger, like the definition.
    const status = campaign.status ?? "open";
    const counters = [plan.admitted, plan.issued, plan.next, status, plan.held, plan.ended];
    if ((await scripts.rebuildOpen([k.state], [epoch, ...counters])) !== 1) return "superseded";
    await redis.sadd(keys.registry, campaignId);
    if (campaign.holdSeconds) await redis.sadd(keys.holdsRegistry, campaignId);
    if (campaign.waitingRoom) await redis.sadd(keys.roomsRegistry, campaignId);
    logger.info(
      {
        campaignId,
        epoch,
        issued: plan.issued,
        held: plan.held,
        ended: plan.ended,
        pending: plan.pending,
        refused: plan.refused,
        freedUnits: plan.free.length,
        ms: Math.round(performance.now() - started),
      },
      "campaign state rebuilt in Redis from the ledger and the queue",
    );
    return "rebuilt";
  }

  /** Entries of this campaign in the (per-tag) claims hash that the rebuild does not keep. */
  async #stale(claimsKey: string, campaignId: string, keep: Set<string>): Promise<string[]> {
    const drop: string[] = [];
    let cursor = "0";
    do {
      const [nextCursor, flat] = await this.#o.redis.hscan(claimsKey, cursor, "COUNT", 1000);
      cursor = nextCursor;
      for (let i = 0; i + 1 < flat.length; i += 2) {
        const id = flat[i]!;
        if (flat[i + 1]!.split(SEPARATOR)[2] === campaignId && !keep.has(id)) drop.push(id);
      }
    } while (cursor !== "0");
    return drop;
  }

  /** Writes the parts into `ref`'s slot: the campaign's, or one of its shards'. */
  async #load(ref: string, epoch: number, parts: LoadParts): Promise<boolean> {
    const k = this.#o.keys.campaign(ref);
    const size = this.#o.chunkSize ?? 500;
    const chunks = Math.max(
      1,
      ...[parts.holders, parts.claims, parts.drop, parts.free, parts.expiries, parts.idempotency].map((p) =>
        Math.ceil(p.length / size),
      ),
    );
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < chunks; i++) {
      const slice = <T>(items: T[]) => items.slice(i * size, (i + 1) * size);
      const holders = slice(parts.holders);
      const claims = slice(parts.claims);
      const drop = slice(parts.drop);
      const free = slice(parts.free);
      const expiries = slice(parts.expiries);
      const idem = slice(parts.idempotency);
      const idemKeys = idem.map((c) => k.idempotency(c.userId, c.idempotencyKey!));
      const idemValues = idem.map((c) => ["A", c.claimId, c.admittedAt, c.seq].join(SEPARATOR));
      calls.push(
        this.#scripts.rebuildLoad(
          [k.state, k.holders, k.claims, k.free, k.expiries, ...idemKeys],
          [
            epoch,
            this.#o.idempotencyTtlSec,
            holders.length,
            claims.length,
            drop.length,
            free.length,
            expiries.length,
            ...holders.flat(),
            ...claims.flat(),
            ...drop,
            ...free,
            ...expiries.flat(),
            ...idemValues,
          ],
        ),
      );
    }
    // Pipelined; each chunk is fenced on its own, so a superseded rebuild stops writing at once.
    const results = await Promise.all(calls);
    return results.every((r) => r === 1);
  }
}
