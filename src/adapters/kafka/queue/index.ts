/** A generic Queue<T> over one Kafka topic and one consumer group (kafka-queue.ts). */

export { KafkaQueue } from "./kafka-queue.ts";
export type { KafkaQueueOptions } from "./options.ts";
export type { KafkaCodec, OutgoingMessage, PartitionLag, TopicDescription } from "./types.ts";
export { KafkaPublishError } from "./types.ts";
