/**
 * Which offsets a consumer may commit when it runs several batches at once.
 * Committing offset N means "everything before N is done", for the whole
 * partition, so a batch that finished early must not commit past one still
 * running: per partition, the commit stops at the lowest offset in hand, and
 * only once nothing before it is left does it move to the last one done.
 *
 * Offsets are counted, not just marked: after a rebalance the same offset can
 * be read again while its first read is still in hand. A batch given up
 * unfinished (the consumer stopped) simply stays in hand: nothing at or after
 * it is committed by this consumer, and whoever reads it next runs it.
 */
export interface PartitionOffset {
  topic: string;
  partition: number;
  offset: bigint;
  leaderEpoch: number;
}

interface PartitionState {
  topic: string;
  partition: number;
  /** Offsets read and not yet done -> how many reads of each are in hand. */
  inHand: Map<bigint, number>;
  /** The highest offset done so far. */
  lastDone: bigint | undefined;
  leaderEpoch: number;
  /** What this consumer last committed (undefined: nothing yet). */
  committed: bigint | undefined;
}

const keyOf = (m: { topic: string; partition: number }) => `${m.topic}\u0000${m.partition}`;

export class CommitTracker {
  readonly #partitions = new Map<string, PartitionState>();

  /** Records messages taken off the stream, before their handler runs. */
  read(messages: readonly PartitionOffset[]): void {
    for (const m of messages) {
      const state = this.#state(m);
      state.inHand.set(m.offset, (state.inHand.get(m.offset) ?? 0) + 1);
    }
  }

  /** Records messages whose handler resolved. */
  done(messages: readonly PartitionOffset[]): void {
    for (const m of messages) {
      const state = this.#state(m);
      const count = state.inHand.get(m.offset) ?? 0;
      if (count <= 1) state.inHand.delete(m.offset);
      else state.inHand.set(m.offset, count - 1);
      if (state.lastDone === undefined || m.offset > state.lastDone) {
        state.lastDone = m.offset;
        state.leaderEpoch = m.leaderEpoch;
      }
    }
  }

  /**
   * The offsets to commit now: per partition, the lowest offset in hand, or
   * the one after the last done when none is; only those that moved forward
   * since the last commit() that succeeded.
   */
  pending(): PartitionOffset[] {
    const out: PartitionOffset[] = [];
    for (const state of this.#partitions.values()) {
      const target = this.#target(state);
      if (target === undefined || (state.committed !== undefined && target <= state.committed)) continue;
      out.push({
        topic: state.topic,
        partition: state.partition,
        offset: target,
        leaderEpoch: state.leaderEpoch,
      });
    }
    return out;
  }

  /** Records offsets the broker accepted. */
  committed(offsets: readonly PartitionOffset[]): void {
    for (const o of offsets) {
      const state = this.#state(o);
      if (state.committed === undefined || o.offset > state.committed) state.committed = o.offset;
    }
  }

  /** Messages in hand, all partitions together. */
  get inHand(): number {
    let n = 0;
    for (const state of this.#partitions.values()) for (const count of state.inHand.values()) n += count;
    return n;
  }

  #target(state: PartitionState): bigint | undefined {
    let lowest: bigint | undefined;
    for (const offset of state.inHand.keys()) if (lowest === undefined || offset < lowest) lowest = offset;
    // Nothing done yet: nothing to say. Else everything before the lowest
    // offset in hand is done (reads are contiguous from where the partition
    // was committed), or, with none in hand, everything up to the last done.
    if (state.lastDone === undefined) return undefined;
    return lowest ?? state.lastDone + 1n;
  }

  #state(m: { topic: string; partition: number }): PartitionState {
    const key = keyOf(m);
    let state = this.#partitions.get(key);
    if (!state) {
      state = {
        topic: m.topic,
        partition: m.partition,
        inHand: new Map(),
        lastDone: undefined,
        leaderEpoch: -1,
        committed: undefined,
      };
      this.#partitions.set(key, state);
    }
    return state;
  }
}
