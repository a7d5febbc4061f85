/**
 * Distributed mode's stores: Redis replicas and keys, the PostgreSQL schema,
 * Kafka topics and groups, Redis Streams. Part of the settings table
 * (../config.ts).
 */
import { int, keyPrefix, optionalStr, type Setting, str } from "../settings.ts";

export const DISTRIBUTED = {
  REDIS_WAIT_REPLICAS: {
    doc: "an admission (or a hold's confirm or release) waits until this many replicas of its Redis master hold it (WAIT) before its 202 (200); 503 when they do not within REDIS_WAIT_TIMEOUT_MS (0: no wait)",
    default: 0,
    parse: int(0, 16),
    scope: "distributed",
  },
  REDIS_WAIT_TIMEOUT_MS: {
    doc: "how long an admission (or a confirm or release) waits for REDIS_WAIT_REPLICAS replicas before it is answered 503",
    default: 500,
    parse: int(1, 60_000),
    scope: "distributed",
  },
  REDIS_PREFIX: {
    doc: "prefix of every Redis key stampede writes",
    default: "stampede",
    parse: keyPrefix,
    scope: "distributed",
  },
  DATABASE_SCHEMA: {
    doc: "PostgreSQL schema of the ledger",
    default: "stampede",
    parse: str,
    scope: "distributed",
  },
  KAFKA_TOPIC: {
    doc: "Kafka topic for claims",
    default: "stampede.claims",
    parse: str,
    scope: "distributed",
  },
  KAFKA_PARTITIONS: {
    doc: "partitions of the claims topic when stampede creates it",
    default: 12,
    parse: int(1, 10_000),
    scope: "distributed",
  },
  KAFKA_REPLICATION_FACTOR: {
    doc: "replicas of the claims and tasks topics when stampede creates them (0: min(3, brokers))",
    default: 0,
    parse: int(0, 100),
    scope: "distributed",
  },
  KAFKA_MIN_INSYNC_REPLICAS: {
    doc: "min.insync.replicas of the topics stampede creates: a claim is acknowledged (and answered 202) once on this many brokers (0: 2 from 3 replicas on, else all replicas)",
    default: 0,
    parse: int(0, 100),
    scope: "distributed",
  },
  KAFKA_GROUP: {
    doc: "consumer group of the claim workers (QUEUE=kafka)",
    default: "stampede-claim-workers",
    parse: str,
    scope: "distributed",
  },
  KAFKA_TASKS_TOPIC: {
    doc: "Kafka topic for tasks (POST /v1/tasks), apart from the claims so a slow task never delays a claim",
    default: "stampede.tasks",
    parse: str,
    scope: "distributed",
  },
  KAFKA_TASKS_PARTITIONS: {
    doc: "partitions of the tasks topic when stampede creates it: at most this many worker processes run tasks",
    default: 12,
    parse: int(1, 10_000),
    scope: "distributed",
  },
  KAFKA_TASKS_GROUP: {
    doc: "consumer group of the task workers (QUEUE=kafka)",
    default: "stampede-task-workers",
    parse: str,
    scope: "distributed",
  },
  KAFKA_ISSUED_TOPIC: {
    doc: 'Kafka topic every issued claim is published to for the shop (QUEUE=kafka workers; "" = off)',
    default: "stampede.issued",
    parse: optionalStr,
    scope: "distributed",
  },
  KAFKA_LINGER_MS: {
    doc: "how long an API process gathers claims into one Kafka produce request (0: those of one event-loop turn, no timer)",
    default: 0,
    parse: int(0, 1000),
    scope: "distributed",
  },
  KAFKA_SESSION_TIMEOUT_MS: {
    doc: "a worker silent this long leaves the consumer group; its partitions move to the others",
    default: 10_000,
    parse: int(6000, 300_000),
    scope: "distributed",
  },
  KAFKA_OUTBOX_LEASE_MS: {
    doc: "a reservation not acknowledged by Kafka after this long is sent by the relay (its API process may be gone)",
    default: 10_000,
    parse: int(100, 3_600_000),
    scope: "distributed",
  },
  KAFKA_RELAY_INTERVAL_MS: {
    doc: "how often a worker's relay looks for reservations to send to Kafka",
    default: 1000,
    parse: int(10, 600_000),
    scope: "distributed",
  },
  KAFKA_FAULT_DELAY_MS: {
    doc: "fault injection, tests only: wait this long between a reservation and its Kafka produce (0: off)",
    default: 0,
    parse: int(0, 600_000),
    scope: "distributed",
  },
  STREAM_MAX_LEN: {
    doc: "entries a campaign's claims stream may hold until trimmed (QUEUE=redis); past it claims get 503",
    default: 1_000_000,
    parse: int(1, 1_000_000_000),
    scope: "distributed",
  },
  CLAIM_IDLE_MS: {
    doc: "a claim pending this long with a silent worker is taken over by another (XAUTOCLAIM)",
    default: 30_000,
    parse: int(100, 3_600_000),
    scope: "distributed",
  },
  LOSS_CHECK_MS: {
    doc: "how often a worker compares Redis with PostgreSQL's epochs to detect a lost or stale Redis",
    default: 2000,
    parse: int(100, 600_000),
    scope: "distributed",
  },
  SOLD_OUT_CACHE_MAX_HOLDERS: {
    doc: "an API process answers a sold-out, closed, ended or paused campaign from memory when it has at most this many holders (0: off)",
    default: 100_000,
    parse: int(0, 10_000_000),
    scope: "distributed",
  },
} satisfies Record<string, Setting<unknown>>;
