import { StampedeError } from "../../../domain/errors.ts";
import type { RedisClient } from "../connection.ts";
import { hashTagOf, nodeFor } from "../nodes.ts";

export interface ReplicaWaitOptions {
  /** The commands connection the admissions were written on. */
  redis: RedisClient;
  /** REDIS_WAIT_REPLICAS: how many replicas must hold a write. */
  replicas: number;
  /** REDIS_WAIT_TIMEOUT_MS: WAIT's own timeout. */
  timeoutMs: number;
}

/**
 * Waits until replicas hold what this process wrote to a key's master:
 * Redis's WAIT, which blocks its connection until `replicas` replicas have
 * acknowledged every write the connection made before it, or the timeout
 * passed, and answers how many did.
 *
 * WAIT is about the connection, so it goes on the very connection the
 * writes went on: the one Redis's, or the cluster client's connection to
 * the master that serves the key's slot (sent there directly, never
 * redirected: after a failover, a WAIT on the new master's fresh connection
 * would count replicas for writes it never saw). Callers that come in the
 * same turn of the event loop for the same hash tag share one WAIT; it
 * covers all their writes, since each had been answered before it was sent.
 *
 * Redis's own words: WAIT "does not make Redis a strongly consistent store":
 * an acknowledged write can still be lost when a failover promotes a replica
 * that did not acknowledge it, or with every replica lost at once. What it
 * gives in practice: a master lost and replaced by the replica that
 * acknowledged loses none of the writes WAIT confirmed.
 */
export class ReplicaWait {
  readonly #o: ReplicaWaitOptions;
  /** WAITs scheduled for this turn, by hash tag. */
  readonly #pending = new Map<string, Promise<void>>();

  constructor(options: ReplicaWaitOptions) {
    this.#o = options;
  }

  /** Resolves once enough replicas hold this process's writes to `key`'s slot; throws 503 otherwise. */
  after(key: string): Promise<void> {
    const tag = hashTagOf(key);
    let wait = this.#pending.get(tag);
    if (!wait) {
      wait = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
        this.#pending.delete(tag);
        return this.#wait(key);
      });
      this.#pending.set(tag, wait);
    }
    return wait;
  }

  async #wait(key: string): Promise<void> {
    const { replicas, timeoutMs } = this.#o;
    const node = nodeFor(this.#o.redis, key);
    if (!node) throw notReplicated("its Redis master is not known right now");
    let acknowledged: number;
    try {
      acknowledged = Number(await node.wait(replicas, timeoutMs));
    } catch (error) {
      throw notReplicated(`WAIT failed: ${(error as Error).message}`);
    }
    if (acknowledged < replicas)
      throw notReplicated(`${acknowledged} of ${replicas} replica(s) acknowledged within ${timeoutMs} ms`);
  }
}

/** 503: the admission may stand in Redis (a retry is answered 409 naming it), but no replica confirmed it. */
function notReplicated(detail: string): StampedeError {
  return new StampedeError("unavailable", "No Redis replica confirmed the write in time.", {
    retryAfter: 1,
    cause: new Error(detail),
  });
}
