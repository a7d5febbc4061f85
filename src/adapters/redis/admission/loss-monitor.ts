import type { Redis } from "ioredis";
import type { Logger } from "pino";
import { PeriodicTask } from "../../../workers/periodic-task.ts";
import type { RedisKeys } from "../keys.ts";
import type { RebuildResult } from "./rebuild.ts";
import { DEFAULT_RETENTION_GRACE_MS } from "./retention.ts";

/** The ledger's view of every campaign's Redis state. */
export interface EpochSource {
  redisEpochs(): Promise<{ campaignId: string; epoch: number; maxUnit: number; endsAt?: number | null }[]>;
}

export interface LossMonitorOptions {
  redis: Redis;
  keys: RedisKeys;
  ledger: EpochSource;
  rebuild: (campaignId: string) => Promise<RebuildResult>;
  logger: Logger;
  intervalMs: number;
  /** Campaigns ended longer than this ago are retired (retention.ts): their state is meant to be gone. */
  retentionGraceMs?: number;
}

/**
 * Detects a lost or stale Redis by comparing each campaign's Redis state
 * with what PostgreSQL knows (SPEC invariant 6), and rebuilds what it finds:
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
 * its own when a claim finds no state (RedisAdmission.ensure).
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

  /** Checks every `intervalMs` until stop(). */
  start(): void {
    this.#loop.start();
  }

  stop(): Promise<void> {
    return this.#loop.stop();
  }

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
        const [[status, epoch, next], locked] = await Promise.all([
          redis.hmget(k.state, "status", "epoch", "next"),
          redis.exists(k.lock),
        ]);
        return { row, status, epoch, next, locked: locked === 1 };
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
