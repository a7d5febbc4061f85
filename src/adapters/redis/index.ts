/**
 * Everything Redis in stampede's distributed mode, as the runtime and the
 * operations tools use it. One key module (keys.ts), one script loader
 * (scripts.ts, lua/); admission (admission/), the Redis Streams queue and its
 * admission sink (streams/), the task store (tasks/), pub/sub notifications,
 * the rate limiter, the memory report (stats/), and what differs on a Redis
 * Cluster (nodes.ts: slots, per-node commands; replicas/: REDIS_WAIT_REPLICAS).
 */

export { type RedisDurability, redisDurability } from "./admission/durability.ts";
export { LossMonitor } from "./admission/loss-monitor.ts";
export type { RedisAdmissionOptions } from "./admission/options.ts";
export { RedisAdmission } from "./admission/redis-admission.ts";
export { RetentionSweeper } from "./admission/retention.ts";
export type { AdmissionSink } from "./admission/sink.ts";
export { packClaim, unpackClaim } from "./claim-codec.ts";
export {
  type RedisClient,
  type RedisConnectionOptions,
  type RedisConnectionUse,
  redisConnection,
  redisTimeouts,
} from "./connection.ts";
export { campaignTag, RedisKeys } from "./keys.ts";
export { groupBySlot, hashTagOf, isCluster, keySlot, masterNodes, nodeAddress, nodeFor } from "./nodes.ts";
export { RedisNotifier } from "./notifier.ts";
export { RedisRateLimiter } from "./rate-limiter.ts";
export { ReplicaWait } from "./replicas/replica-wait.ts";
export { ReplicatedAdmission } from "./replicas/replicated-admission.ts";
export { redisMemoryReport, redisMemorySource } from "./stats/memory.ts";
export { streamSink } from "./streams/claims-sink.ts";
export { RedisStreamQueue } from "./streams/redis-stream-queue.ts";
export { RedisTaskStore } from "./tasks/redis-task-store.ts";
export {
  RedisWaitingRoom,
  type RedisWaitingRoomOptions,
  type RoomListener,
} from "./waiting-room/redis-waiting-room.ts";
export type { ReleaseReport } from "./waiting-room/release.ts";
