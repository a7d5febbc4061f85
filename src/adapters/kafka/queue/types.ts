/** The types a KafkaQueue's callers see, and the error its publish() rejects with. */

/** Turns a value into a message's bytes and back (decode throws on a layout it does not know). */
export interface KafkaCodec<T> {
  encode(value: T): string | Buffer;
  decode(data: Buffer): T;
}

/** One record to produce. */
export interface OutgoingMessage {
  key: string;
  value: string | Buffer;
  /** Record headers (e.g. the issued topic's delivery id), UTF-8. */
  headers?: Record<string, string>;
}

export interface PartitionLag {
  partition: number;
  /** Next offset to be written (the high watermark). */
  end: bigint;
  /** Next offset the group will read (committed, or the log start when none). */
  committed: bigint;
  lag: number;
}

/** A topic as `stampede doctor` judges it (what a 202 survives depends on its replication). */
export interface TopicDescription {
  topic: string;
  partitions: number;
  replicationFactor: number;
  /** Smallest in-sync replica set over the partitions right now. */
  minIsr: number;
  /** The topic's min.insync.replicas setting. */
  minInsyncReplicas: number;
  /** The topic's unclean.leader.election.enable setting. */
  uncleanLeaderElection: boolean;
  brokers: number;
}

/** publish() failed: the broker refused the request, or it did not answer within the delivery bound. */
export class KafkaPublishError extends Error {
  constructor(topic: string, cause: unknown) {
    super(
      `Kafka did not acknowledge the messages for topic ${topic}: ${(cause as Error)?.message ?? cause}`,
      {
        cause,
      },
    );
    this.name = "KafkaPublishError";
  }
}
