import { kafkaDoctor } from "../../../adapters/kafka/doctor.ts";
import type { DoctorCheck, Verdict } from "../types.ts";

/**
 * Kafka in QUEUE=kafka mode (src/adapters/kafka/doctor.ts): the brokers answer;
 * the claims topic exists; what a 202 survives with its replication factor
 * and min.insync.replicas (a 202 is sent once Kafka acknowledged with
 * acks=all), including what a single broker does not survive; the consumer
 * group's lag; the issued and tasks topics (KAFKA_ISSUED_TOPIC, KAFKA_TASKS_TOPIC) exist.
 */
export interface KafkaCheckOptions {
  brokers: string[];
  topic: string;
  partitions: number;
  group: string;
  issuedTopic?: string;
  tasksTopic?: string;
  timeoutMs?: number;
}

export function kafkaCheck(options: KafkaCheckOptions): DoctorCheck {
  return {
    name: "kafka",
    async run(): Promise<Verdict[]> {
      return kafkaDoctor(options);
    },
  };
}
