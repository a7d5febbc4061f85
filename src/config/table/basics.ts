/**
 * Where stampede listens, which stores and queue it uses, and how its
 * workers batch: the settings most deployments set. Part of the settings
 * table (../config.ts).
 */
import {
  hostPorts,
  int,
  list,
  oneOf,
  optional,
  redisUrl,
  type Setting,
  secret,
  str,
  url,
} from "../settings.ts";

export const BASICS = {
  PORT: { doc: "HTTP port", default: 8080, parse: int(0, 65535) },
  HOST: { doc: "HTTP listen address", default: "127.0.0.1", parse: str },
  ADMIN_TOKEN: {
    doc: "bearer token for admin routes (embedded mode generates one under DATA_DIR when unset)",
    default: undefined,
    defaultText: "(generated in embedded mode)",
    parse: secret(16),
  },
  REDIS_URL: {
    doc: "Redis for admission and status (distributed mode): redis://host:port, or a Redis Cluster by some of its nodes, redis+cluster://host:port,host:port (rediss: for TLS)",
    default: undefined,
    parse: redisUrl,
    scope: "distributed",
  },
  KAFKA_BROKERS: {
    doc: "Kafka bootstrap brokers, host:port[,...] (QUEUE=kafka)",
    default: [],
    parse: hostPorts,
    scope: "distributed",
  },
  QUEUE: {
    doc: "queue: memory (stampede start) | redis | kafka (stampede api / worker)",
    default: "memory",
    defaultText: "memory (start), redis (api, worker)",
    parse: oneOf("memory", "redis", "kafka"),
  },
  PROCESSES: {
    doc: "processes of stampede api (or worker) sharing PORT, so a host uses and accepts on all its cores; stampede start is one process (its admission state is in memory)",
    default: undefined,
    defaultText: "the cores (api), 1 (worker)",
    parse: optional(int(1, 1024)),
    scope: "distributed",
  },
  DATABASE_URL: {
    doc: "PostgreSQL ledger (distributed mode)",
    default: undefined,
    parse: url("postgres:", "postgresql:"),
    scope: "distributed",
  },
  DATA_DIR: {
    doc: "embedded mode's files (ledger, admission journal, admin token)",
    default: "./data",
    parse: str,
    scope: "embedded",
  },
  USER_TOKEN_SECRET: {
    doc: "HMAC secret for user tokens; when set, claims need the user's JWT",
    default: undefined,
    defaultText: "(off)",
    parse: secret(32),
  },
  CORS_ORIGINS: {
    doc: "origins allowed by CORS, comma-separated (none by default)",
    default: [],
    parse: list,
  },
  LOG_LEVEL: {
    doc: "log level",
    default: "info",
    parse: oneOf("fatal", "error", "warn", "info", "debug", "trace", "silent"),
  },
  LISTEN_BACKLOG: {
    doc: "TCP listen backlog (capped by net.core.somaxconn); a spike of new connections overflows a small one",
    default: 16384,
    parse: int(1, 1_000_000),
  },
  BATCH_SIZE: {
    doc: "claims a worker writes to the ledger per transaction, at most",
    default: 1000,
    parse: int(1, 100_000),
  },
  FLUSH_INTERVAL_MS: {
    doc: "how long a worker waits to fill a batch once it has one claim",
    default: 2,
    parse: int(0, 10_000),
  },
  REQUEST_TIMEOUT_MS: {
    doc: "how long a claim may wait on a dependency before the answer is 503",
    default: 5000,
    parse: int(100, 60_000),
  },
  SHUTDOWN_TIMEOUT_MS: { doc: "graceful shutdown deadline", default: 10_000, parse: int(100, 600_000) },
  FSYNC: {
    doc: "embedded journal durability: always (fsync before each 202) | off (tests and benchmarks only)",
    default: "always",
    parse: oneOf("always", "off"),
    scope: "embedded",
  },
  LEDGER_WRITER: {
    doc: "where the embedded worker writes the ledger: thread (its own, off the event loop that admits) | loop (the same loop; for comparison)",
    default: "thread",
    parse: oneOf("thread", "loop"),
    scope: "embedded",
  },
} satisfies Record<string, Setting<unknown>>;
