import type { Claim } from "../../../domain/types.ts";
import { statusLetter, unpackClaim } from "../../redis/claim-codec.ts";
import type { RedisClient } from "../../redis/connection.ts";
import { claimRef, type RedisKeys } from "../../redis/keys.ts";
import type { ReplicaWait } from "../../redis/replicas/replica-wait.ts";
import { redisScripts, type Scripts } from "../../redis/scripts.ts";

/**
 * Kafka mode's outbox: per campaign, a sorted set of the claims decided in
 * Redis (admitted; with holds also confirmed, expired, released: each by its
 * script, in the same atomic step as the decision) whose newest snapshot
 * Kafka has not acknowledged yet. It closes the gap between the decision and
 * the produce: an API process that dies in between leaves its claims here,
 * and a relay sends them (see outbox-relay.ts and docs/kafka.md). An entry
 * is a claim id: whoever sends it sends the claim's newest state from the
 * claims hash. Keys of one campaign share its hash tag (redis/keys.ts).
 */
export class Outbox {
  readonly #redis: RedisClient;
  readonly #scripts: Scripts;
  readonly #keys: RedisKeys;
  readonly #replicas: ReplicaWait | undefined;

  /** `replicas` (REDIS_WAIT_REPLICAS): take() hands out only what replicas hold. */
  constructor(redis: RedisClient, keys: RedisKeys, replicas?: ReplicaWait) {
    this.#redis = redis;
    this.#scripts = redisScripts(redis);
    this.#keys = keys;
    this.#replicas = replicas;
  }

  /**
   * Claims of a campaign reserved at least `leaseMs` ago and still unsent;
   * leased to the caller. With replicas to wait for, only once they hold
   * them (a claim sent to Kafka from a master that then failed over to a
   * replica without it would hold a unit that replica hands out again).
   */
  async take(campaignId: string, leaseMs: number, limit: number): Promise<Claim[]> {
    const k = this.#keys.campaign(campaignId);
    const flat = (await this.#scripts.outboxTake([k.outbox, k.claims], [leaseMs, limit])) as string[];
    const claims: Claim[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) claims.push(unpackClaim(flat[i + 1]!));
    if (claims.length > 0) await this.#replicas?.after(k.outbox);
    return claims;
  }

  /**
   * Kafka acknowledged these snapshots: their claims leave the outbox,
   * unless a newer decision on one is still to be sent (outbox-ack-2.lua).
   */
  async remove(claims: readonly Claim[]): Promise<void> {
    // By slot: a campaign over shards has an outbox per shard (keys.ts claimRef).
    const bySlot = new Map<string, string[]>();
    for (const c of claims) {
      const ref = claimRef(c.campaignId, c.claimId);
      const args = bySlot.get(ref);
      if (args) args.push(c.claimId, statusLetter(c.status));
      else bySlot.set(ref, [c.claimId, statusLetter(c.status)]);
    }
    await Promise.all(
      [...bySlot].map(([ref, args]) => {
        const k = this.#keys.campaign(ref);
        return this.#scripts.outboxAck([k.outbox, k.claims], args);
      }),
    );
  }

  /** Whether a claim is still waiting for Kafka's acknowledgement. */
  async holds(claim: Claim): Promise<boolean> {
    return (
      (await this.#redis.zscore(
        this.#keys.campaign(claimRef(claim.campaignId, claim.claimId)).outbox,
        claim.claimId,
      )) !== null
    );
  }

  /** Campaigns whose outboxes a relay looks at: those admission knows (the workers' registry). */
  campaigns(): Promise<string[]> {
    return this.#redis.smembers(this.#keys.registry);
  }

  /** Reservations waiting for Kafka, over the given campaigns (metrics, doctor). */
  async size(campaignIds: readonly string[]): Promise<number> {
    const counts = await Promise.all(
      campaignIds.map((id) => this.#redis.zcard(this.#keys.campaign(id).outbox)),
    );
    return counts.reduce((sum, n) => sum + n, 0);
  }
}
