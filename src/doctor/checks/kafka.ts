import { type DoctorCheck, fail } from "../types.ts";

/**
 * HOOK for the Kafka adapter (QUEUE=kafka): replace the body of run() with
 * real checks, one verdict per line, e.g.
 * - "kafka": brokers reachable, their version;
 * - "kafka-topic": KAFKA_TOPIC exists with KAFKA_PARTITIONS partitions;
 * - "kafka-replication": replication factor and min.insync.replicas (with
 *   acks=all, a 202 survives the loss of replication factor - 1 brokers:
 *   warn when the factor is 1);
 * - "queue-lag": the consumer group's lag per partition.
 * Use ok/info/warn/fail from ../types.ts; fail makes the doctor exit 1.
 */
export interface KafkaCheckOptions {
  brokers: string[];
  topic: string;
  partitions: number;
}

export function kafkaCheck(options: KafkaCheckOptions): DoctorCheck {
  return {
    name: "kafka",
    async run() {
      // Until then, distributed mode refuses QUEUE=kafka at start (src/runtime/distributed.ts).
      return [
        fail(
          "kafka",
          `QUEUE=kafka is not available in this build (brokers ${options.brokers.join(",")}, topic ${options.topic})`,
          "use QUEUE=redis; the Kafka adapter fills in src/doctor/checks/kafka.ts",
        ),
      ];
    },
  };
}
