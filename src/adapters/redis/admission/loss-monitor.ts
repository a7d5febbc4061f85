import type { Logger } from "pino";
import { PeriodicTask } from "../../../workers/periodic-task.ts";
import type { RedisClient } from "../connection.ts";
import { type RedisKeys, shardRef } from "../keys.ts";
import { isCluster, masterNodes, nodeAddress } from "../nodes.ts";
import type { RebuildResult } from "./rebuild.ts";
import { DEFAULT_RETENTION_GRACE_MS } from "./retention.ts";

/** The ledger's view of every campaign's Redis state. */
export interface EpochSource {
  redisEpochs(): Promise<{ campaignId: string; epoch: number; maxUnit: number; endsAt?: number | null }[]>;
}

export interface LossMonitorOptions {
  redis: RedisClient;
  keys: RedisKeys;
  ledger: EpochSource;
  rebuild: (campaignId: string) => Promise<RebuildResult>;
  logger: Logger;
  /** How often to check; 0: only when a cluster's masters change (API processes). */
  intervalMs: number;
  /** Campaigns ended longer than this ago are retired (retention.ts): their state is meant to be gone. */
  retentionGraceMs?: number;
}

/**
 * Detects a lost or stale Redis by comparing each campaign's Redis state
 * with what PostgreSQL knows (invariant 6, docs/api.md), and rebuilds what it finds:
 *
 * - no state at all: flushed, or restarted without persistence;
 * - another epoch than the ledger's: a Redis that missed the last rebuild
 *   (e.g. an old primary or replica coming back);
 * - `next` (highest unit handed out) below the ledger's highest unit: a
 *   Redis that forgot admissions the ledger already holds (failed over to a
 *   replica that was behind, or restarted from an old snapshot);
 * - stuck `rebuilding` with nobody holding the rebuild lock (a rebuilder died).
 *
 * Workers run it (they reach both stores); an API process also rebuilds on
 * its own when a claim finds no state (RedisAdmission.ensure), and, on a
 * Redis Cluster, checks as soon as its own client sees the masters change:
 * a promoted replica that missed admissions hands their units out again
 * until the check rebuilds it, and each API process sees the new master at
 * its own moment.
 */
export class LossMonitor {
  readonly #o: LossMonitorOptions;
  readonly #loop: PeriodicTask;

  constructor(options: LossMonitorOptions) {
    this.#o = options;
    this.#loop = new PeriodicTask({
      intervalMs: options.intervalMs,
      run: () => this.check(),
      logger: options.logger,
      failureMessage: "Redis loss check failed",
    });
  }

  /**
   * Checks every `intervalMs` until stop(); on a Redis Cluster, also at once
   * when the client's slot map shows another set of masters (a replica
   * promoted in a failover may have missed the last admissions).
   */
  start(): void {
    if (this.#o.intervalMs > 0) this.#loop.start();
    const { redis } = this.#o;
    if (isCluster(redis) && !this.#watching) {
      this.#watching = true;
      this.#masters = mastersOf(redis);
      redis.on("refresh", this.#onRefresh);
    }
  }

  async stop(): Promise<void> {
    if (this.#watching) {
      this.#o.redis.off("refresh", this.#onRefresh);
      this.#watching = false;
    }
    await this.#loop.stop();
    await this.#now;
  }

  #watching = false;
  #masters = "";
  readonly #onRefresh = () => {
    const masters = mastersOf(this.#o.redis);
    if (masters === this.#masters) return;
    this.#o.logger.info({ masters }, "the Redis Cluster's masters changed; checking for lost state");
    this.#masters = masters;
    if (this.#loop.started) this.#loop.runNow();
    else
      this.#now ??= this.check()
        .catch((error: unknown) => this.#o.logger.warn({ err: error }, "Redis loss check failed"))
        .finally(() => {
          this.#now = undefined;
        });
  };
  #now: Promise<unknown> | undefined;

  /** One pass; returns the campaigns it found lost, with why. */
  async check(): Promise<{ campaignId: string; reason: string; result: RebuildResult }[]> {
    const { redis, keys, logger } = this.#o;
    const graceMs = this.#o.retentionGraceMs ?? DEFAULT_RETENTION_GRACE_MS;
    const now = Date.now();
    const rows = (await this.#o.ledger.redisEpochs()).filter(
      (row) => row.endsAt == null || row.endsAt + graceMs > now,
    );
    const states = await Promise.all(
      rows.map(async (row) => {
        const k = keys.campaign(row.campaignId);
        const [[status, epoch, next, shards], locked] = await Promise.all([
          redis.hmget(k.state, "status", "epoch", "next", "shards"),
          redis.exists(k.lock),
        ]);
        // A campaign over shards: every shard must be there at the ledger's epoch; a shard's
        // `next` counts in its own slice of units, so it says nothing of the ledger's highest.
        const others =
          Number(shards ?? 1) > 1 ? await otherShards(redis, keys, row.campaignId, Number(shards)) : [];
        const missing = others.find(
          (o) => o.status === null || (o.status !== "rebuilding" && o.epoch !== epoch),
        );
        if (missing) return { row, status: null, epoch, next, locked: locked === 1 };
        return {
          row,
          status,
          epoch,
          next: others.length > 0 ? String(row.maxUnit) : next,
          locked: locked === 1,
        };
      }),
    );
    const found: { campaignId: string; reason: string; result: RebuildResult }[] = [];
    for (const { row, status, epoch, next, locked } of states) {
      let reason: string | undefined;
      if (status == null) reason = "no state in Redis";
      else if (status === "rebuilding") reason = locked ? undefined : "a rebuild was left unfinished";
      else if (Number(epoch) !== row.epoch) reason = `Redis has epoch ${epoch}, the ledger ${row.epoch}`;
      else if (Number(next) < row.maxUnit)
        reason = `Redis handed out units up to ${next}, the ledger holds unit ${row.maxUnit}`;
      if (!reason) continue;
      logger.warn({ campaignId: row.campaignId, reason }, "Redis lost this campaign's state; rebuilding it");
      const result = await this.#o.rebuild(row.campaignId);
      found.push({ campaignId: row.campaignId, reason, result });
    }
    return found;
  }
}

/** Which nodes are masters now, as one comparable string. */
function mastersOf(redis: RedisClient): string {
  return masterNodes(redis).map(nodeAddress).sort().join(",");
}

/** The status and epoch of shards 1.. of a campaign over shards. */
async function otherShards(redis: RedisClient, keys: RedisKeys, campaignId: string, shards: number) {
  return Promise.all(
    Array.from({ length: shards - 1 }, async (_, i) => {
      const [status, epoch] = await redis.hmget(
        keys.campaign(shardRef(campaignId, i + 1)).state,
        "status",
        "epoch",
      );
      return { status, epoch };
    }),
  );
}
