import { setTimeout as sleep } from "node:timers/promises";
import { StampedeError } from "../../../domain/errors.ts";
import type { RedisClient } from "../connection.ts";
import { type RedisKeys, shardRef } from "../keys.ts";
import type { Rebuilder, RebuildResult } from "./rebuild.ts";

/** "retired": ended longer than the retention grace ago; answered from the ledger, never rebuilt. */
export type EnsureResult = "ready" | "unknown" | "timeout" | "retired";

export interface StateLoaderOptions {
  redis: RedisClient;
  keys: RedisKeys;
  rebuilder: Rebuilder;
  /** Told before every rebuild: what this process cached about the campaign is stale from now on. */
  onRebuild: (campaignId: string) => void;
  /** How long ensure() waits for another process's rebuild before it answers "timeout". */
  rebuildWaitMs: number;
}

/**
 * Makes sure a campaign's Redis state is loaded and open before admission
 * works on it: rebuilds it from the ledger when it is missing (rebuild.ts),
 * waits while another process rebuilds it. One ensure() per campaign at a
 * time in this process; what asks meanwhile shares its answer.
 */
export class StateLoader {
  readonly #o: StateLoaderOptions;
  readonly #ensuring = new Map<string, Promise<EnsureResult>>();

  constructor(options: StateLoaderOptions) {
    this.#o = options;
  }

  /** Rebuilds a campaign's state from the ledger now (loss detection calls this). */
  rebuild(campaignId: string): Promise<RebuildResult> {
    this.#o.onRebuild(campaignId);
    return this.#o.rebuilder.rebuild(campaignId);
  }

  /**
   * "ready", or "unknown" (the ledger has no such campaign), "retired", or
   * "timeout" (not ready in time). Throws when Redis or the ledger fails.
   */
  ensure(campaignId: string): Promise<EnsureResult> {
    let running = this.#ensuring.get(campaignId);
    if (!running) {
      running = this.#ensure(campaignId).finally(() => this.#ensuring.delete(campaignId));
      this.#ensuring.set(campaignId, running);
    }
    return running;
  }

  /** ensure(), with failures turned into the contract's 503. */
  async ready(campaignId: string): Promise<EnsureResult> {
    try {
      return await this.ensure(campaignId);
    } catch (error) {
      throw new StampedeError("unavailable", "The campaign's admission state cannot be rebuilt now.", {
        retryAfter: 1,
        cause: error,
      });
    }
  }

  async #ensure(campaignId: string): Promise<EnsureResult> {
    const state = this.#o.keys.campaign(campaignId).state;
    const deadline = performance.now() + this.#o.rebuildWaitMs;
    for (;;) {
      const [status, shards] = await this.#o.redis.hmget(state, "status", "shards");
      if (
        status !== null &&
        status !== "rebuilding" &&
        (await this.#shardsReady(campaignId, Number(shards ?? 1)))
      )
        return "ready";
      if (
        status === null ||
        (status !== "rebuilding" && !(await this.#shardsPresent(campaignId, Number(shards))))
      ) {
        const result = await this.rebuild(campaignId);
        if (result === "rebuilt") return "ready";
        if (result === "not_found") return "unknown";
        if (result === "retired") return "retired";
      }
      if (performance.now() > deadline) return "timeout";
      await sleep(50);
    }
  }

  /** The statuses of shards 1.. of a campaign over shards (none for one shard). */
  async #others(campaignId: string, shards: number): Promise<(string | null)[]> {
    const refs = Array.from({ length: Math.max(0, shards - 1) }, (_, i) => shardRef(campaignId, i + 1));
    return Promise.all(refs.map((ref) => this.#o.redis.hget(this.#o.keys.campaign(ref).state, "status")));
  }

  /** Whether every other shard is loaded and open (a Redis Cluster may lose one node's shards). */
  async #shardsReady(campaignId: string, shards: number): Promise<boolean> {
    return (await this.#others(campaignId, shards)).every((s) => s !== null && s !== "rebuilding");
  }

  /** Whether every other shard has a state (being rebuilt: wait), none missing (rebuild the campaign). */
  async #shardsPresent(campaignId: string, shards: number): Promise<boolean> {
    return (await this.#others(campaignId, shards)).every((s) => s !== null);
  }
}
