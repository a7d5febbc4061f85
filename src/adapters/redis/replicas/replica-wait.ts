import type { Redis } from "ioredis";
import { StampedeError } from "../../../domain/errors.ts";
import type { RedisClient } from "../connection.ts";
import { nodeFor } from "../nodes.ts";

export interface ReplicaWaitOptions {
  /** The connection the writes went on (the commands connection, for after()). */
  redis: RedisClient;
  /** REDIS_WAIT_REPLICAS: how many replicas must hold a write. */
  replicas: number;
  /** REDIS_WAIT_TIMEOUT_MS: WAIT's own timeout. */
  timeoutMs: number;
}

/**
 * Not (yet) held by enough replicas: a 503 where it reaches a client.
 * `lost`: the node the writes went to can no longer confirm them (its
 * connection closed, it is no longer a master): asking again elsewhere
 * would not be about those writes.
 */
export class NotReplicatedError extends StampedeError {
  readonly lost: boolean;

  constructor(detail: string, lost: boolean) {
    super("unavailable", "No Redis replica confirmed the write in time.", {
      retryAfter: 1,
      cause: new Error(detail),
    });
    this.lost = lost;
  }
}

/**
 * Waits until replicas hold what this process wrote to a node: Redis's
 * WAIT, which blocks its connection until `replicas` replicas have
 * acknowledged every write the connection made before it, or the timeout
 * passed, and answers how many did.
 *
 * WAIT is about one connection to one node, so it goes on the very
 * connection the writes went on: the one Redis's, or the cluster client's
 * connection to the master that served them (`on(node)`; `after(key)` takes
 * the master serving the key's slot now, right after a write to it). It is
 * sent there directly, never redirected: after a failover, a WAIT on the new
 * master's connection would count replicas for writes that node never saw.
 * Callers that come in the same turn of the event loop for the same node
 * share one WAIT; it covers all their writes, since each had been answered
 * before it was sent.
 *
 * Redis's own words: WAIT "does not make Redis a strongly consistent store":
 * an acknowledged write can still be lost when a failover promotes a replica
 * that did not acknowledge it, or with every replica lost at once. What it
 * gives in practice: a master lost and replaced by the replica that
 * acknowledged loses none of the writes WAIT confirmed.
 */
export class ReplicaWait {
  readonly #o: ReplicaWaitOptions;
  /** WAITs scheduled for this turn, by node. */
  readonly #pending = new Map<Redis, Promise<void>>();

  constructor(options: ReplicaWaitOptions) {
    this.#o = options;
  }

  /** Resolves once enough replicas hold this connection's writes to `key`'s master; throws NotReplicatedError. */
  after(key: string): Promise<void> {
    const node = nodeFor(this.#o.redis, key);
    if (!node) return Promise.reject(new NotReplicatedError("its Redis master is not known right now", true));
    return this.on(node);
  }

  /** Resolves once enough replicas hold the writes made on this node connection; throws NotReplicatedError. */
  on(node: Redis): Promise<void> {
    let wait = this.#pending.get(node);
    if (!wait) {
      wait = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
        this.#pending.delete(node);
        return this.#wait(node);
      });
      this.#pending.set(node, wait);
    }
    return wait;
  }

  async #wait(node: Redis): Promise<void> {
    const { replicas, timeoutMs } = this.#o;
    if (node.status === "end" || node.status === "close")
      throw new NotReplicatedError("the connection to its Redis master is gone", true);
    let acknowledged: number;
    try {
      acknowledged = Number(await node.wait(replicas, timeoutMs));
    } catch (error) {
      // A closed connection, or a node that became a replica: these writes are its no more.
      throw new NotReplicatedError(`WAIT failed: ${(error as Error).message}`, true);
    }
    if (acknowledged < replicas)
      throw new NotReplicatedError(
        `${acknowledged} of ${replicas} replica(s) acknowledged within ${timeoutMs} ms`,
        false,
      );
  }
}
