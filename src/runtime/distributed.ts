import { hostname } from "node:os";
import { Redis, type RedisOptions } from "ioredis";
import type { Logger } from "pino";
import { userTokenVerifier } from "../adapters/jwt/user-tokens.ts";
import {
  type KafkaClaims,
  KafkaIssuedSink,
  type KafkaQueue,
  openKafkaClaims,
  openKafkaTasks,
} from "../adapters/kafka/index.ts";
import { PostgresLedger } from "../adapters/postgres/postgres-ledger.ts";
import { countCommands } from "../adapters/redis/command-count.ts";
import {
  LossMonitor,
  packClaim,
  RedisAdmission,
  RedisKeys,
  RedisNotifier,
  RedisStreamQueue,
  RedisTaskStore,
  RetentionSweeper,
  redisMemorySource,
  streamSink,
  unpackClaim,
} from "../adapters/redis/index.ts";
import { type Config, ConfigError } from "../config/config.ts";
import type { Claim } from "../domain/types.ts";
import { userHashKey } from "../domain/user-hash.ts";
import type { ApiParts } from "../http/app.ts";
import { countFailures, instrumentPorts } from "../ops/metrics/instrument.ts";
import { Metrics } from "../ops/metrics/metrics.ts";
import { ledgerCountsSource } from "../ops/stats/ledger-counts.ts";
import type { IssuedSink } from "../ports/delivery.ts";
import type { Queue, QueueLag } from "../ports/queue.ts";
import type { DependencyStatus } from "../ports/readiness.ts";
import type { TaskMessage } from "../ports/task-store.ts";
import { ClaimLookup } from "../services/claims.ts";
import { createServices } from "../services/index.ts";
import { taskSettings } from "../services/tasks/settings.ts";
import { ClaimWorker } from "../workers/claim-worker.ts";
import { fanOut } from "../workers/fan-out.ts";
import { WebhookDispatcher } from "../workers/webhook/dispatcher.ts";
import { webhookOptions } from "../workers/webhook/options.ts";
import { openTaskPipeline, type TaskPipeline } from "./task-pipeline.ts";

/**
 * Distributed mode's wiring, for one process of either role. Both roles talk
 * to Redis (admission state, claim status, pub/sub) and PostgreSQL (the
 * ledger); an `api` process admits and answers, a `worker` process consumes
 * the claims streams, writes the ledger and watches for a lost Redis. They
 * share nothing else, so any number of each can run.
 */
export type Role = "api" | "worker";

export interface DistributedOptions {
  role: Role;
  config: Config;
  logger: Logger;
}

export interface DistributedRuntime {
  /** What the HTTP API serves (buildApp); a worker's HTTP face reads only `api.ops`. */
  api: ApiParts;
  admission: RedisAdmission;
  ledger: PostgresLedger;
  redis: Redis;
  keys: RedisKeys;
  worker?: ClaimWorker;
  /** The queue this worker consumes claims from (Redis Streams, or Kafka with QUEUE=kafka). */
  queue?: Queue<Claim>;
  /** QUEUE=kafka: the claims topic, the outbox and (workers) its relay. */
  kafka?: KafkaClaims;
  /** QUEUE=kafka workers, unless KAFKA_ISSUED_TOPIC is "": the topic every issued claim is published to. */
  issuedTopic?: KafkaIssuedSink;
  lossMonitor?: LossMonitor;
  retention?: RetentionSweeper;
  dispatcher?: WebhookDispatcher;
  /** Marks the process as shutting down (readiness 503) at once. */
  beginShutdown(): void;
  close(): Promise<void>;
}

/** The consumer group of the claims streams. */
export const CLAIMS_GROUP = "stampede-claim-workers";
/** The consumer group of the tasks stream (QUEUE=redis; KAFKA_TASKS_GROUP with Kafka). */
export const TASKS_GROUP = "stampede-task-workers";

/** Refuses, in one line naming the setting, what distributed mode cannot run without. */
export function requireDistributedSettings(config: Config): {
  adminToken: string;
  redisUrl: string;
  databaseUrl: string;
} {
  const missing = (name: string) =>
    new ConfigError(name, "required by distributed mode (stampede api / stampede worker)");
  if (config.ADMIN_TOKEN === undefined) throw missing("ADMIN_TOKEN");
  if (config.REDIS_URL === undefined) throw missing("REDIS_URL");
  if (config.DATABASE_URL === undefined) throw missing("DATABASE_URL");
  if (config.QUEUE === "kafka" && config.KAFKA_BROKERS.length === 0)
    throw new ConfigError("KAFKA_BROKERS", "required when QUEUE=kafka");
  if (/[{}]/.test(config.REDIS_PREFIX)) throw new ConfigError("REDIS_PREFIX", "must not contain { or }");
  return { adminToken: config.ADMIN_TOKEN, redisUrl: config.REDIS_URL, databaseUrl: config.DATABASE_URL };
}

export async function openDistributed(options: DistributedOptions): Promise<DistributedRuntime> {
  const { role, config, logger } = options;
  const settings = requireDistributedSettings(config);
  const instance = config.INSTANCE_ID ?? `${hostname()}-${process.pid}`;
  const keys = new RedisKeys(config.REDIS_PREFIX);
  const metrics = new Metrics();

  const connections: Redis[] = [];
  const connect = (name: string, extra: RedisOptions = {}) => {
    const redis = new Redis(settings.redisUrl, {
      connectionName: `stampede-${role}-${name}-${instance}`,
      // RESP2: the reply shapes every Redis version and proxy agree on.
      protocol: 2,
      lazyConnect: true,
      ...extra,
    });
    countCommands(redis, metrics.redisCommandCounter(role, name));
    // Connection errors surface on the commands (503) and in readiness; the
    // client reconnects by itself. Log each outage once, not every retry.
    let down = false;
    redis.on("error", (error) => {
      if (!down) logger.warn({ err: error, connection: name }, "Redis connection lost; reconnecting");
      down = true;
    });
    redis.on("ready", () => {
      if (down) logger.info({ connection: name }, "Redis connection back");
      down = false;
    });
    connections.push(redis);
    return redis;
  };
  // Commands of all concurrent requests share round trips (auto-pipelining).
  // No offline queue: while Redis is unreachable a claim fails at once (503)
  // instead of piling up to run minutes later.
  const redis = connect("commands", { enableAutoPipelining: true, enableOfflineQueue: false });
  const subscriber = connect("subscriber");
  try {
    await redis.connect();
    await subscriber.connect();
  } catch (error) {
    for (const connection of connections) connection.disconnect();
    throw new Error(`cannot connect to Redis (REDIS_URL): ${(error as Error).message}`, { cause: error });
  }

  const ledger = new PostgresLedger({
    connectionString: settings.databaseUrl,
    schema: config.DATABASE_SCHEMA,
    max: role === "worker" ? 4 : 8,
    onError: (error) => logger.warn({ err: error }, "PostgreSQL connection lost"),
  });
  await migrateWhenReachable(ledger, logger, role);

  // QUEUE=kafka: claims go to the campaign's outbox, then to Kafka (docs/kafka.md).
  let kafka: KafkaClaims | undefined;
  let issuedTopic: KafkaIssuedSink | undefined;
  if (config.QUEUE === "kafka") {
    try {
      kafka = await openKafkaClaims({
        role,
        config,
        redis,
        keys,
        logger,
        instance,
        onPublishError: () => metrics.dependencyError("kafka"),
      });
      // Workers publish what they issued to the shop's topic (docs/kafka.md, "The issued topic").
      if (role === "worker" && config.KAFKA_ISSUED_TOPIC !== undefined)
        issuedTopic = await KafkaIssuedSink.open({
          brokers: config.KAFKA_BROKERS,
          topic: config.KAFKA_ISSUED_TOPIC,
          partitions: config.KAFKA_PARTITIONS,
          replicationFactor: config.KAFKA_REPLICATION_FACTOR || undefined,
          clientId: `stampede-${role}-${instance}-issued`,
          logger,
        });
      if (issuedTopic) logger.info({ topic: issuedTopic.topic }, "publishing issued claims to Kafka");
    } catch (error) {
      await kafka?.close().catch(() => undefined);
      for (const connection of connections) connection.disconnect();
      await ledger.close().catch(() => undefined);
      throw error;
    }
  }

  const admission = new RedisAdmission({
    redis,
    keys,
    ledger,
    logger,
    sink: kafka ? kafka.sink : streamSink({ redis, keys, cap: config.STREAM_MAX_LEN }),
    idempotencyTtlSec: config.IDEMPOTENCY_TTL_S,
    soldOutCacheMaxHolders: role === "api" ? config.SOLD_OUT_CACHE_MAX_HOLDERS : 0,
    // API processes: answers from memory follow the campaign events channel; one claim budget
    // across API processes, decided in the admission script (per campaign: keys in its slot).
    subscriber,
    rateLimit: { user: config.RATE_LIMIT_USER, ip: config.RATE_LIMIT_IP },
    retentionGraceMs: config.REDIS_RETENTION_GRACE_S * 1000,
  });
  const claimLookup = new ClaimLookup({ admission, ledger });
  const notifier = new RedisNotifier({
    publisher: redis,
    subscriber,
    channel: keys.issuedChannel,
    logger,
    recheck: (claimIds) => claimLookup.findMany(claimIds),
  });

  // Tasks (POST /v1/tasks): their own stream or topic, the Redis task store; workers run them.
  const settingsOfTasks = taskSettings(config);
  const taskStore = new RedisTaskStore({
    redis,
    prefix: config.REDIS_PREFIX,
    retention: settingsOfTasks.retention,
  });
  let kafkaTasks: KafkaQueue<TaskMessage> | undefined;
  let taskQueue: Queue<TaskMessage>;
  if (kafka) {
    try {
      taskQueue = kafkaTasks = await openKafkaTasks({ role, config, logger, instance });
    } catch (error) {
      await issuedTopic?.close();
      await kafka.close();
      for (const connection of connections) connection.disconnect();
      await ledger.close().catch(() => undefined);
      throw error;
    }
  } else {
    const taskBlocking = role === "worker" ? connect("task-blocking") : undefined;
    await taskBlocking?.connect();
    taskQueue = new RedisStreamQueue<TaskMessage>({
      redis,
      blocking: taskBlocking ?? redis,
      // Its own stream, so a slow task never delays a claim.
      streams: [keys.tasks.stream],
      group: TASKS_GROUP,
      consumer: instance,
      codec: { encode: (m) => JSON.stringify(m), decode: (d) => JSON.parse(d) as TaskMessage },
      logger,
      maxLen: config.STREAM_MAX_LEN,
      claimIdleMs: config.CLAIM_IDLE_MS,
    });
  }
  const tasks: TaskPipeline = await openTaskPipeline({
    queue: taskQueue,
    store: taskStore,
    settings: settingsOfTasks,
    logger,
    runWorker: role === "worker",
    owner: instance,
  });

  let shuttingDown = false;
  let worker: ClaimWorker | undefined;
  let queue: Queue<Claim> | undefined;
  let lossMonitor: LossMonitor | undefined;
  let retention: RetentionSweeper | undefined;
  let dispatcher: WebhookDispatcher | undefined;
  const claimsQueue = (blocking: Redis) =>
    new RedisStreamQueue<Claim>({
      redis,
      blocking,
      streams: async () => (await redis.smembers(keys.registry)).map((id) => keys.campaign(id).stream),
      group: CLAIMS_GROUP,
      consumer: instance,
      codec: { encode: packClaim, decode: unpackClaim },
      logger,
      maxLen: config.STREAM_MAX_LEN,
      claimIdleMs: config.CLAIM_IDLE_MS,
    });
  if (role === "worker") {
    // Workers deliver the webhook outbox (docs/lifecycle.md); leases make any number of them safe.
    dispatcher = new WebhookDispatcher({ ...webhookOptions(config), store: ledger.deliveries, logger });
    if (kafka) queue = kafka.queue;
    else {
      const blocking = connect("blocking");
      await blocking.connect();
      queue = claimsQueue(blocking);
    }
    // A failed issued publish fails the batch: it is retried and its offsets
    // stay uncommitted until every sink resolved (at least once, never lost).
    const sinks: IssuedSink[] = [dispatcher];
    if (issuedTopic) sinks.push(countFailures(issuedTopic, "kafka", metrics));
    worker = new ClaimWorker({
      queue,
      ledger: countFailures(ledger, "ledger", metrics),
      admission,
      notifier,
      logger,
      batchSize: config.BATCH_SIZE,
      flushIntervalMs: config.FLUSH_INTERVAL_MS,
      issuedSink: sinks.length === 1 ? dispatcher : fanOut(sinks),
      onBatch: metrics.observeBatch,
    });
    lossMonitor = new LossMonitor({
      redis,
      keys,
      ledger,
      rebuild: (campaignId) => admission.rebuild(campaignId),
      logger,
      intervalMs: config.LOSS_CHECK_MS,
      retentionGraceMs: config.REDIS_RETENTION_GRACE_S * 1000,
    });
    retention = new RetentionSweeper({
      redis,
      keys,
      ledger,
      logger,
      graceMs: config.REDIS_RETENTION_GRACE_S * 1000,
      intervalMs: config.RETENTION_CHECK_MS,
    });
    dispatcher.start();
    worker.start();
    lossMonitor.start();
    retention.start();
  }

  const readiness = async (): Promise<DependencyStatus[]> => {
    const checks = [check("redis", () => admission.ping())];
    if (kafka)
      checks.push(
        check("kafka", async () => {
          await kafka.queue.ping();
          // A worker that has not joined the consumer groups yet consumes nothing.
          if (role === "worker" && !(kafka.queue.consuming && kafkaTasks?.consuming))
            throw new Error("not in the consumer groups yet");
        }),
      );
    if (role === "worker") checks.push(check("postgresql", () => ledger.ping()));
    return Promise.all(checks);
  };

  const services = createServices(
    instrumentPorts(
      {
        // Kafka mode: a 202 waits for Kafka's acknowledgement.
        admission: kafka ? kafka.admission(admission) : admission,
        ledger,
        notifier,
        lifecycle: ledger.lifecycle,
        deliveries: ledger.deliveries,
        tasks: tasks.service,
      },
      metrics,
    ),
    { userHashKey: userHashKey(settings.adminToken), requestTimeoutMs: config.REQUEST_TIMEOUT_MS },
  );
  const api: ApiParts = {
    services,
    access: {
      adminToken: settings.adminToken,
      userTokens:
        config.USER_TOKEN_SECRET === undefined ? undefined : userTokenVerifier(config.USER_TOKEN_SECRET),
    },
    ops: {
      readiness,
      isShuttingDown: () => shuttingDown,
      metrics,
      mode: role,
      // An API process reads the lag through a claims queue it never consumes from.
      queueLag: lagOf([queue ?? kafka?.queue ?? claimsQueue(redis), taskQueue]),
      stats: [ledgerCountsSource(ledger), redisMemorySource(redis, `${config.REDIS_PREFIX}:`)],
    },
  };

  return {
    api,
    admission,
    ledger,
    redis,
    keys,
    worker,
    queue,
    kafka,
    issuedTopic,
    lossMonitor,
    retention,
    dispatcher,
    beginShutdown() {
      shuttingDown = true;
    },
    async close() {
      shuttingDown = true;
      await lossMonitor?.stop();
      await retention?.stop();
      await tasks.stop();
      await worker?.stop();
      await issuedTopic?.close();
      await kafka?.close();
      await kafkaTasks?.close();
      await dispatcher?.stop();
      await taskStore.close();
      await notifier.close();
      await admission.close();
      await ledger.close().catch(() => undefined);
      for (const connection of connections) connection.disconnect();
    },
  };
}

/**
 * Migrations run at start. A worker cannot work without PostgreSQL and waits
 * for it; an API process admits from Redis alone, so it starts anyway and
 * says so (a worker migrates as soon as PostgreSQL answers).
 */
async function migrateWhenReachable(ledger: PostgresLedger, logger: Logger, role: Role): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await ledger.migrate();
      return;
    } catch (error) {
      if (role === "api") {
        logger.warn(
          { err: error },
          "PostgreSQL unreachable at start; admitting from Redis, migrations skipped",
        );
        return;
      }
      if (attempt === 1) logger.warn({ err: error }, "PostgreSQL unreachable at start; waiting for it");
      await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 200 * attempt)));
    }
  }
}

function lagOf(queues: { lag(): Promise<QueueLag[]> }[]): () => Promise<QueueLag[]> {
  return async () => (await Promise.all(queues.map((q) => q.lag()))).flat();
}

async function check(name: string, probe: () => Promise<void>): Promise<DependencyStatus> {
  try {
    await probe();
    return { name, ok: true };
  } catch (error) {
    return { name, ok: false, error: (error as Error).message };
  }
}
