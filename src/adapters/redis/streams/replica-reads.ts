/**
 * With `replicas` (REDIS_WAIT_REPLICAS): which node served each entry a
 * stream queue (./redis-stream-queue.ts) read, and the part of a batch that
 * replicas hold, the only part anyone may handle.
 */
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import type { RedisClient } from "../connection.ts";
import { nodeFor } from "../nodes.ts";
import { NotReplicatedError, type ReplicaWait } from "../replicas/replica-wait.ts";
import type { Entry } from "./replies.ts";

export class ReplicaReads<T> {
  readonly #wait: ReplicaWait;
  readonly #logger: Logger;
  /** The node each entry was read from, for its WAIT (see replicated()). */
  readonly #readFrom = new WeakMap<Entry<T>, Redis>();
  #waitingForReplicas = false;

  constructor(wait: ReplicaWait, logger: Logger) {
    this.#wait = wait;
    this.#logger = logger;
  }

  /** Remembers which node served these entries (the master of their slot on `connection`, right after the read). */
  pin(entries: Entry<T>[], connection: RedisClient, stream: string): void {
    const node = nodeFor(connection, stream);
    if (node) for (const entry of entries) this.#readFrom.set(entry, node);
  }

  /**
   * The part of the batch replicas hold. An entry can be read from a master
   * before a replica has it; were the master then lost, the replica taking
   * its place would hand out its unit again while the ledger holds it.
   * Reading an entry (XREADGROUP, XAUTOCLAIM) is itself replicated after the
   * entry, so a WAIT on the node connection that read it covers it (never on
   * another node: it would be about other writes). Entries replicas have not
   * confirmed yet are given to `again` (they come back in the next batches);
   * entries whose node is gone (its connection closed, no longer a master)
   * are left pending, for the take-over to read again from whoever holds
   * them now.
   */
  async replicated(batch: Entry<T>[], again: (entries: Entry<T>[]) => void): Promise<Entry<T>[]> {
    const byNode = new Map<Redis | undefined, Entry<T>[]>();
    for (const entry of batch) {
      const node = this.#readFrom.get(entry);
      const entries = byNode.get(node);
      if (entries) entries.push(entry);
      else byNode.set(node, [entry]);
    }
    const nodes = [...byNode.keys()];
    const results = await Promise.allSettled(
      nodes.map((node) =>
        node
          ? this.#wait.on(node)
          : Promise.reject(new NotReplicatedError("read from an unknown node", true)),
      ),
    );
    const ready: Entry<T>[] = [];
    results.forEach((result, i) => {
      const entries = byNode.get(nodes[i])!;
      if (result.status === "fulfilled") ready.push(...entries);
      else if (result.reason instanceof NotReplicatedError && result.reason.lost)
        this.#logger.warn(
          { err: result.reason, entries: entries.length },
          "entries read from a Redis master lost before a replica confirmed them; left pending for the take-over",
        );
      else {
        again(entries);
        if (!this.#waitingForReplicas)
          this.#logger.warn({ err: result.reason }, "waiting for Redis replicas to hold what was read");
        this.#waitingForReplicas = true;
      }
    });
    if (ready.length > 0 && this.#waitingForReplicas && ready.length === batch.length) {
      this.#logger.info("Redis replicas hold what is read again");
      this.#waitingForReplicas = false;
    }
    return ready;
  }
}
