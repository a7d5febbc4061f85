/**
 * Retention of a campaign's Redis keys (docs/lifecycle.md). Redis holds what
 * admission needs while a campaign can still take claims; the ledger keeps
 * everything for good. Once a campaign has ended (its endsAt, which closing
 * sets too) and every claim it admitted is issued, its keys expire at
 * endsAt + REDIS_RETENTION_GRACE_S (lua/retire-5.lua): the grace keeps
 * late retries (409 naming the claim, Idempotency-Key replays) answered from
 * Redis for a while. After that the campaign is "retired": nothing rebuilds
 * it, and admission answers it from the ledger.
 */

import type { Logger } from "pino";
import type { Campaign } from "../../../domain/types.ts";
import { PeriodicTask } from "../../../workers/periodic-task.ts";
import type { RedisClient } from "../connection.ts";
import { type RedisKeys, shardRef } from "../keys.ts";
import { redisScripts } from "../scripts.ts";
import { RETIRE } from "./codes.ts";

/** REDIS_RETENTION_GRACE_S by default: a day. */
export const DEFAULT_RETENTION_GRACE_MS = 86_400_000;

export function isRetired(campaign: Campaign, now: number, graceMs = DEFAULT_RETENTION_GRACE_MS): boolean {
  return campaign.endsAt !== null && campaign.endsAt + graceMs <= now;
}

export interface RetentionSweeperOptions {
  redis: RedisClient;
  keys: RedisKeys;
  ledger: { listCampaigns(): Promise<Campaign[]> };
  logger: Logger;
  graceMs: number;
  intervalMs: number;
}

export interface SweepResult {
  /** Campaigns whose keys now carry their expiry. */
  expiring: string[];
  /** Retired campaigns taken off the workers' stream list. */
  retired: string[];
}

/**
 * Run by workers. Each pass sets the expiry on the keys of ended, drained
 * campaigns, and takes retired ones off the registry of streams the workers
 * read (and off the reapers' list of campaigns with holds, and the releasers' of waiting rooms)
 * (deleting the empty stream a consumer group may have created again
 * after the expiry). Only after the keys are gone: until then a change may
 * still reopen the campaign, and its claims must keep reaching a worker.
 */
export class RetentionSweeper {
  readonly #o: RetentionSweeperOptions;
  readonly #loop: PeriodicTask;
  /** Retired campaigns with nothing left in Redis: not looked at again by this process. */
  readonly #done = new Set<string>();

  constructor(options: RetentionSweeperOptions) {
    this.#o = options;
    this.#loop = new PeriodicTask({
      intervalMs: options.intervalMs,
      run: () => this.sweep(),
      logger: options.logger,
      failureMessage: "retention sweep failed",
    });
  }

  /** Sweeps every `intervalMs` until stop(). */
  start(): void {
    this.#loop.start();
  }

  stop(): Promise<void> {
    return this.#loop.stop();
  }

  async sweep(now = Date.now()): Promise<SweepResult> {
    const { redis, keys, graceMs, logger } = this.#o;
    const scripts = redisScripts(redis);
    const result: SweepResult = { expiring: [], retired: [] };
    for (const campaign of await this.#o.ledger.listCampaigns()) {
      if (campaign.endsAt === null || campaign.endsAt > now || this.#done.has(campaign.id)) continue;
      // A campaign over shards retires shard by shard (each drained on its own); it is retired once
      // every shard's keys are gone.
      const refs =
        (campaign.shards ?? 1) > 1
          ? Array.from({ length: campaign.shards! }, (_, i) => shardRef(campaign.id, i))
          : [campaign.id];
      const codes: number[] = [];
      for (const ref of refs) {
        const k = keys.campaign(ref);
        const [code, expireAt] = (await scripts.retire(
          [k.state, k.holders, k.stream, k.outbox, k.free],
          [graceMs],
        )) as [number, number];
        codes.push(code);
        // A shard's applied transfers go with it (no transfer is pending once it drained).
        if (code === RETIRE.EXPIRING && refs.length > 1) await redis.pexpireat(k.received, expireAt);
        if (code === RETIRE.EXPIRING)
          logger.debug(
            { campaignId: campaign.id, ref, expireAt },
            "campaign keys expire after the retention grace",
          );
      }
      if (codes.includes(RETIRE.EXPIRING)) result.expiring.push(campaign.id);
      else if (codes.every((c) => c === RETIRE.NOT_FOUND) && isRetired(campaign, now, graceMs)) {
        // The keys expired: retired for good. A consumer group may have
        // created the stream again (empty) before the workers' stream list
        // dropped it; passes repeat this until there is nothing left to do.
        const [removed, deleted] = await Promise.all([
          redis.srem(keys.registry, ...refs.map((ref, i) => (i === 0 ? campaign.id : ref))),
          Promise.all(refs.map((ref) => redis.del(keys.campaign(ref).stream))).then((n) =>
            n.reduce((a, b) => a + b, 0),
          ),
          redis.srem(keys.holdsRegistry, campaign.id),
          redis.srem(keys.roomsRegistry, campaign.id),
          redis.srem(keys.shardedRegistry, campaign.id),
        ]);
        if (removed === 0 && deleted === 0) this.#done.add(campaign.id);
        if (removed > 0) {
          result.retired.push(campaign.id);
          logger.info({ campaignId: campaign.id }, "campaign retired from Redis; the ledger keeps it");
        }
      }
      // NOT_FOUND within the grace is a lost Redis: the loss monitor rebuilds it.
    }
    return result;
  }
}
