/**
 * Everything Kafka in stampede (QUEUE=kafka), as the runtime and the
 * operations tools use it: the claims side (topic, outbox, admission that
 * waits for the acknowledgement, relay), the tasks topic, the issued topic,
 * the doctor's checks, and the generic queue under all of them (queue/).
 */

export { KafkaWaitingRoom } from "./admission/kafka-waiting-room.ts";
export { claimKey, type KafkaClaims, type KafkaClaimsConfig, openKafkaClaims } from "./claims.ts";
export { judgeReplication, type KafkaVerdict, kafkaDoctor } from "./doctor.ts";
export { KafkaIssuedSink } from "./issued-sink.ts";
export { KafkaQueue, kafkaTimeouts } from "./queue/index.ts";
export { type KafkaTasksConfig, openKafkaTasks } from "./tasks.ts";
