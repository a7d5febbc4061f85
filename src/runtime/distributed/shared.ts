/**
 * What both processes of distributed mode open, `stampede api` (api.ts) and
 * `stampede worker` (worker.ts): the Redis connections, the PostgreSQL
 * ledger, Redis admission (behind Kafka's outbox with QUEUE=kafka), the
 * pub/sub notifier and the task pipeline (the parts the HTTP API is built
 * from: api-parts.ts). The roles differ in the options below, not in
 * branches here.
 */

import { hostname } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import {
  type KafkaClaims,
  type KafkaQueue,
  openKafkaClaims,
  openKafkaTasks,
} from "../../adapters/kafka/index.ts";
import { postgresTimeouts } from "../../adapters/postgres/options.ts";
import { PostgresLedger } from "../../adapters/postgres/postgres-ledger.ts";
import type { RedisClient } from "../../adapters/redis/connection.ts";
import {
  packClaim,
  RedisAdmission,
  RedisKeys,
  RedisNotifier,
  RedisStreamQueue,
  RedisTaskStore,
  type RedisWaitingRoom,
  ReplicatedAdmission,
  ReplicaWait,
  streamSink,
  unpackClaim,
} from "../../adapters/redis/index.ts";
import type { DistributedConfig, DistributedRole } from "../../config/commands.ts";
import type { Claim } from "../../domain/types.ts";
import type { Verdict } from "../../ops/doctor/types.ts";
import { Metrics } from "../../ops/metrics/metrics.ts";
import type { AdmissionStore } from "../../ports/admission.ts";
import type { Queue } from "../../ports/queue.ts";
import type { TaskMessage } from "../../ports/task-store.ts";
import type { WaitingRoomStore } from "../../ports/waiting-room.ts";
import { ClaimLookup } from "../../services/claims.ts";
import { taskSettings } from "../../services/tasks/settings.ts";
import type { Resources } from "../resources.ts";
import { checkPostgresAtStart, checkRedisAtStart } from "../start-checks.ts";
import { describe, StartupError } from "../startup-error.ts";
import { openTaskPipeline, type TaskPipeline } from "../task-pipeline.ts";
import { RedisConnections } from "./connections.ts";

export interface SharedOptions {
  role: DistributedRole;
  /** PostgreSQL connections this process may hold. */
  ledgerPoolSize: number;
  /** A worker cannot work without PostgreSQL and waits for it; an API process admits from Redis alone. */
  waitForPostgres: boolean;
  /** This process runs tasks (its tasks stream gets a blocking connection of its own). */
  runsTasks: boolean;
  /** SOLD_OUT_CACHE_MAX_HOLDERS where claims are answered; 0 elsewhere. */
  soldOutCacheMaxHolders: number;
}

/** What a caller may hand a distributed root instead of its own (the cluster's summing metrics). */
export interface DistributedOverrides {
  metrics?: Metrics;
}

export interface Shared {
  config: DistributedConfig;
  logger: Logger;
  resources: Resources;
  connections: RedisConnections;
  instance: string;
  keys: RedisKeys;
  /** Commands, auto-pipelined. */
  redis: RedisClient;
  ledger: PostgresLedger;
  metrics: Metrics;
  /** QUEUE=kafka: the claims topic, the outbox and (workers) its relay. */
  kafka: KafkaClaims | undefined;
  /** QUEUE=kafka: the tasks topic. */
  kafkaTasks: KafkaQueue<TaskMessage> | undefined;
  admission: RedisAdmission;
  /**
   * The waiting rooms (docs/api.md "Waiting room"): joins, ticket reads and the draw in Redis;
   * releases admit through `admission` (with QUEUE=kafka, the released claims are produced at once).
   */
  waitingRoom: WaitingRoomStore;
  /** The Redis waiting room itself: the releasers' campaign list, the room events (subscribe). */
  redisWaitingRoom: RedisWaitingRoom;
  notifier: RedisNotifier;
  taskQueue: Queue<TaskMessage>;
  tasks: TaskPipeline;
  /** What the start checks said (start-checks.ts); a failure refused the start instead. */
  startReport: Verdict[];
  /** REDIS_WAIT_REPLICAS > 0: waits for replicas on the commands connection. */
  replicaWait: ReplicaWait | undefined;
}

/** The consumer group of the claims streams. */
export const CLAIMS_GROUP = "stampede-claim-workers";
/** The consumer group of the tasks stream (QUEUE=redis; KAFKA_TASKS_GROUP with Kafka). */
export const TASKS_GROUP = "stampede-task-workers";

export async function openShared(
  config: DistributedConfig,
  logger: Logger,
  resources: Resources,
  overrides: DistributedOverrides,
  options: SharedOptions,
): Promise<Shared> {
  const instance = config.INSTANCE_ID ?? `${hostname()}-${process.pid}`;
  const keys = new RedisKeys(config.REDIS_PREFIX);
  // Made first: every Redis connection counts its commands into it (adapters/redis/command-count.ts).
  const metrics = overrides.metrics ?? new Metrics();
  const connections = new RedisConnections({
    config,
    metrics,
    url: config.REDIS_URL,
    role: options.role,
    instance,
    logger,
    resources,
  });
  // How each connection waits (auto-pipelining, no offline queue for requests): adapters/redis/connection.ts.
  const redis = await connections.open("commands", "commands");
  const subscriber = await connections.open("subscriber", "subscriber");
  const startReport = await checkRedisAtStart(redis, config.QUEUE, config.REDIS_WAIT_REPLICAS);
  // REDIS_WAIT_REPLICAS: what is answered or handed on from Redis waits until replicas hold it.
  const replicaWait =
    config.REDIS_WAIT_REPLICAS > 0
      ? new ReplicaWait({
          redis,
          replicas: config.REDIS_WAIT_REPLICAS,
          timeoutMs: config.REDIS_WAIT_TIMEOUT_MS,
        })
      : undefined;

  const ledger = resources.add(
    "ledger",
    new PostgresLedger({
      connectionString: config.DATABASE_URL,
      schema: config.DATABASE_SCHEMA,
      max: options.ledgerPoolSize,
      timeouts: postgresTimeouts(config),
      onError: (error) => logger.warn({ error: describe(error) }, "PostgreSQL connection lost"),
    }),
    (l) => l.close(),
  );
  await migrateWhenReachable(ledger, logger, options.waitForPostgres);
  startReport.push(...(await checkPostgresAtStart((sql) => ledger.pool.query(sql))));

  // QUEUE=kafka: claims go to the campaign's outbox, then to Kafka (docs/kafka.md).
  const kafka =
    config.QUEUE === "kafka"
      ? resources.add(
          "kafka claims",
          await openKafkaClaims({
            role: options.role,
            config,
            redis,
            keys,
            logger,
            instance,
            onPublishError: () => metrics.dependencyError("kafka"),
            ...(replicaWait ? { replicaWait } : {}),
          }),
          (k) => k.close(),
        )
      : undefined;
  const admission = resources.add(
    "admission",
    new RedisAdmission({
      redis,
      keys,
      ledger,
      logger,
      sink: kafka ? kafka.sink : streamSink({ redis, keys, cap: config.STREAM_MAX_LEN }),
      idempotencyTtlSec: config.IDEMPOTENCY_TTL_S,
      soldOutCacheMaxHolders: options.soldOutCacheMaxHolders,
      // API processes: answers from memory follow the campaign events channel; one claim budget
      // across API processes, decided in the admission script (per campaign: keys in its slot).
      subscriber,
      rateLimit: { user: config.RATE_LIMIT_USER, ip: config.RATE_LIMIT_IP },
      retentionGraceMs: config.REDIS_RETENTION_GRACE_S * 1000,
    }),
    (a) => a.close(),
  );
  const redisWaitingRoom = resources.add("waiting room", admission.waitingRoom({ subscriber }), (r) =>
    r.close(),
  );
  const waitingRoom = kafka ? kafka.waitingRoom(redisWaitingRoom) : redisWaitingRoom;
  const claimLookup = new ClaimLookup({ admission, ledger });
  const notifier = resources.add(
    "notifier",
    new RedisNotifier({
      publisher: redis,
      subscriber,
      channel: keys.issuedChannel,
      logger,
      recheck: (claimIds) => claimLookup.findMany(claimIds),
    }),
    (n) => n.close(),
  );

  // Tasks (POST /v1/tasks): their own stream or topic, so a slow task never delays a claim.
  const settings = taskSettings(config);
  const taskStore = resources.add(
    "task store",
    new RedisTaskStore({ redis, prefix: config.REDIS_PREFIX, retention: settings.retention }),
    (s) => s.close(),
  );
  const kafkaTasks = kafka
    ? resources.add(
        "kafka tasks",
        await openKafkaTasks({ role: options.role, config, logger, instance }),
        (q) => q.close(),
      )
    : undefined;
  const taskQueue =
    kafkaTasks ??
    new RedisStreamQueue<TaskMessage>({
      redis,
      blocking: options.runsTasks ? await connections.open("task-blocking", "blocking") : redis,
      streams: [keys.tasks.stream],
      group: TASKS_GROUP,
      consumer: instance,
      codec: { encode: (m) => JSON.stringify(m), decode: (d) => JSON.parse(d) as TaskMessage },
      logger,
      maxLen: config.STREAM_MAX_LEN,
      claimIdleMs: config.CLAIM_IDLE_MS,
    });
  const tasks = resources.add(
    "task pipeline",
    await openTaskPipeline({
      queue: taskQueue,
      store: taskStore,
      settings,
      logger,
      runWorker: options.runsTasks,
      owner: instance,
    }),
    (p) => p.stop(),
  );

  return {
    config,
    logger,
    resources,
    connections,
    instance,
    keys,
    redis,
    ledger,
    metrics,
    kafka,
    kafkaTasks,
    admission,
    waitingRoom,
    redisWaitingRoom,
    notifier,
    taskQueue,
    tasks,
    startReport,
    replicaWait,
  };
}

/** The claims of every campaign, on Redis Streams (QUEUE=redis): `blocking` serves the consumer's XREADGROUP. */
export function claimsStreams(shared: Shared, blocking: RedisClient): RedisStreamQueue<Claim> {
  const { redis, keys, config } = shared;
  return new RedisStreamQueue<Claim>({
    redis,
    blocking,
    streams: async () => (await redis.smembers(keys.registry)).map((id) => keys.campaign(id).stream),
    group: CLAIMS_GROUP,
    consumer: shared.instance,
    codec: { encode: packClaim, decode: unpackClaim },
    logger: shared.logger,
    maxLen: config.STREAM_MAX_LEN,
    claimIdleMs: config.CLAIM_IDLE_MS,
    ...(config.REDIS_WAIT_REPLICAS > 0
      ? { replicas: { count: config.REDIS_WAIT_REPLICAS, timeoutMs: config.REDIS_WAIT_TIMEOUT_MS } }
      : {}),
  });
}

/**
 * The admission store whose answers wait for Redis replicas when
 * REDIS_WAIT_REPLICAS is set (ReplicatedAdmission), else the store itself.
 */
export function replicated(shared: Shared): AdmissionStore {
  return shared.replicaWait
    ? new ReplicatedAdmission({ inner: shared.admission, keys: shared.keys, wait: shared.replicaWait })
    : shared.admission;
}

/** PostgreSQL errors that waiting does not mend: wrong password, no such database, no permission. */
const PERMANENT_PG_ERRORS = new Set(["28P01", "28000", "3D000", "42501"]);

/**
 * Migrations run at start. A worker cannot work without PostgreSQL and waits
 * for it; an API process admits from Redis alone, so it starts anyway and
 * says so (a worker migrates as soon as PostgreSQL answers). A DATABASE_URL
 * that can never work (refused credentials, no such database) refuses the start.
 */
async function migrateWhenReachable(ledger: PostgresLedger, logger: Logger, wait: boolean): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await ledger.migrate();
      return;
    } catch (error) {
      if (PERMANENT_PG_ERRORS.has(String((error as { code?: unknown }).code)))
        throw new StartupError(`cannot use PostgreSQL (DATABASE_URL): ${describe(error)}`, { cause: error });
      if (!wait) {
        logger.warn(
          { error: describe(error) },
          "PostgreSQL unreachable at start; admitting from Redis, migrations skipped",
        );
        return;
      }
      if (attempt === 1)
        logger.warn({ error: describe(error) }, "PostgreSQL unreachable at start; waiting for it");
      await sleep(Math.min(5000, 200 * attempt));
    }
  }
}
