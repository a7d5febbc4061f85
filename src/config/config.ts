import { parseArgs } from "node:util";
import { getHeapStatistics } from "node:v8";
import { parseRate } from "../domain/rate-policy.ts";
import {
  bool,
  ConfigError,
  hostPorts,
  int,
  keyPrefix,
  list,
  oneOf,
  optional,
  optionalStr,
  redisUrl,
  type Setting,
  secret,
  str,
  trustProxy,
  url,
} from "./settings.ts";

export { ConfigError };

/** Shed load before V8 runs out of heap: 90% of this process's heap limit, in MiB. */
const DEFAULT_MAX_HEAP_MB = Math.floor((getHeapStatistics().heap_size_limit / 2 ** 20) * 0.9);

/** REQUEST_TIMEOUT_MS as read, for the defaults derived from it. */
function requestTimeout(config: Readonly<Record<string, unknown>>): number {
  return config.REQUEST_TIMEOUT_MS as number;
}

/** The settings table. Add a setting here and it is parsed, validated and documented everywhere. */
export const SETTINGS = {
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
  IDEMPOTENCY_TTL_S: {
    doc: "how long the answer to an Idempotency-Key is remembered, across restarts (Redis; embedded: DATA_DIR/idempotency)",
    default: 86_400,
    parse: int(60, 30 * 86_400),
  },
  HOLD_MIN_SECONDS: {
    doc: 'the shortest holdSeconds a campaign may ask for (docs/api.md "Holds": 30); lower it for tests only',
    default: 30,
    parse: int(1, 3600),
  },
  HOLD_REAP_INTERVAL_MS: {
    doc: "how often a process that runs workers expires the holds whose time has come (admission also expires due holds before it answers 410)",
    default: 250,
    parse: int(10, 10_000),
  },
  RELEASE_INTERVAL_MS: {
    doc: "how often a process that runs workers releases tickets from the waiting rooms (a room's releasePerSecond is spread over these runs)",
    default: 100,
    parse: int(10, 5000),
  },
  RATE_LIMIT_USER: {
    doc: "claims and waiting-room joins per campaign and userId: N/s, N/m or N/h, optional :burst (5/s = 5 at once, then one per 200 ms), or off",
    default: parseRate("5/s", "RATE_LIMIT_USER"),
    defaultText: "5/s",
    parse: parseRate,
  },
  RATE_LIMIT_IP: {
    doc: "claims per client address (same syntax): all campaigns together embedded, per campaign distributed; a NAT or a load test is one address",
    default: undefined,
    defaultText: "off",
    parse: parseRate,
  },
  TRUST_PROXY: {
    doc: "take the client address from X-Forwarded-For when the peer is: off | hop count | addresses/CIDRs",
    default: false,
    defaultText: "off",
    parse: trustProxy,
  },
  MAX_HEADER_BYTES: {
    doc: "largest request head (request line + headers) accepted; larger is answered 400",
    default: 16 * 1024,
    parse: int(1024, 1024 * 1024),
  },
  OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: {
    doc: "shed load (503) while the event loop runs a timer this many ms late (0 = off); a last resort, see docs/security.md",
    default: 5000,
    parse: int(0, 60_000),
  },
  OVERLOAD_MAX_HEAP_MB: {
    doc: "shed load (503) while the V8 heap in use exceeds this many MiB (0 = off)",
    default: DEFAULT_MAX_HEAP_MB,
    defaultText: "90% of the V8 heap limit",
    parse: int(0, 1_000_000),
  },
  OVERLOAD_MAX_RSS_MB: {
    doc: "shed load (503) while the resident set exceeds this many MiB (0 = off)",
    default: 0,
    parse: int(0, 1_000_000),
  },
  REDIS_RETENTION_GRACE_S: {
    doc: "a campaign's Redis keys expire this long after it ends (or is closed) once its claims are issued; the ledger keeps everything",
    default: 86_400,
    parse: int(0, 366 * 86_400),
    scope: "distributed",
  },
  RETENTION_CHECK_MS: {
    doc: "how often a worker looks for ended campaigns whose Redis keys may expire (distributed mode)",
    default: 30_000,
    parse: int(100, 3_600_000),
    scope: "distributed",
  },
  WEBHOOK_MAX_ATTEMPTS: {
    doc: "webhook deliveries tried this many times before they are dead-lettered",
    default: 12,
    parse: int(1, 100),
  },
  WEBHOOK_RETRY_BASE_MS: {
    doc: "first webhook retry delay; doubles per attempt (with jitter)",
    default: 1000,
    parse: int(1, 3_600_000),
  },
  WEBHOOK_RETRY_MAX_MS: {
    doc: "longest delay between webhook retries",
    default: 3_600_000,
    parse: int(1, 86_400_000),
  },
  WEBHOOK_TIMEOUT_MS: {
    doc: "a webhook request not answered 2xx within this is a failed attempt",
    default: 10_000,
    parse: int(100, 120_000),
  },
  WEBHOOK_CONCURRENCY: { doc: "webhook requests in flight per process", default: 16, parse: int(1, 1000) },
  INSTANCE_ID: {
    doc: "name of this process in logs and consumer groups (default: host-pid)",
    default: undefined,
    parse: optionalStr,
  },
  TASK_MODULES: {
    doc: "modules whose defineTask() calls register task handlers, comma-separated (docs/tasks.md)",
    default: [],
    parse: list,
  },
  TASK_CONCURRENCY: { doc: "tasks one worker process runs at once", default: 4, parse: int(1, 1000) },
  TASK_MAX_ATTEMPTS: {
    doc: "attempts a task gets (counted when its handler starts) before it is dead-lettered",
    default: 5,
    parse: int(1, 100),
  },
  TASK_BACKOFF_MS: {
    doc: "delay before a failed task's first retry; doubled for each further attempt",
    default: 1000,
    parse: int(0, 3_600_000),
  },
  TASK_BACKOFF_MAX_MS: {
    doc: "longest delay between two attempts",
    default: 300_000,
    parse: int(0, 86_400_000),
  },
  TASK_TIMEOUT_MS: {
    doc: "how long one attempt may run before it counts as failed",
    default: 300_000,
    parse: int(100, 86_400_000),
  },
  TASK_LEASE_MS: {
    doc: "a running attempt's lease, renewed while it runs; when its worker dies, the task runs again after this",
    default: 30_000,
    parse: int(300, 3_600_000),
  },
  TASK_TTL_S: {
    doc: "how long a succeeded task's status and result (and an Idempotency-Key) are kept",
    default: 86_400,
    parse: int(1, 31_536_000),
  },
  TASK_DEAD_LETTER_TTL_S: {
    doc: "how long a dead-lettered task is kept in the dead-letter list",
    default: 604_800,
    parse: int(1, 31_536_000),
  },
  REDIS_COMMAND_TIMEOUT_MS: {
    doc: "a Redis command not answered within this fails (the request answers 503, a worker retries); blocking reads get their BLOCK time on top",
    default: 2500,
    defaultText: "REQUEST_TIMEOUT_MS / 2",
    derive: (c) => Math.ceil(requestTimeout(c) / 2),
    parse: int(10, 600_000),
  },
  REDIS_CONNECT_TIMEOUT_MS: {
    doc: "a Redis connection (TCP connect) not made within this is dropped and tried again",
    default: 5000,
    defaultText: "REQUEST_TIMEOUT_MS",
    derive: requestTimeout,
    parse: int(100, 600_000),
  },
  PG_CONNECT_TIMEOUT_MS: {
    doc: "how long a PostgreSQL query waits for a pooled connection (and its connect) before it fails",
    default: 2500,
    defaultText: "REQUEST_TIMEOUT_MS / 2",
    derive: (c) => Math.ceil(requestTimeout(c) / 2),
    parse: int(100, 600_000),
  },
  PG_STATEMENT_TIMEOUT_MS: {
    doc: "PostgreSQL cancels a statement running longer (statement_timeout); a worker's batch of BATCH_SIZE claims must fit well inside",
    default: 5000,
    defaultText: "REQUEST_TIMEOUT_MS, at least 1000",
    derive: (c) => Math.max(1000, requestTimeout(c)),
    parse: int(100, 3_600_000),
  },
  PG_QUERY_TIMEOUT_MS: {
    doc: "the client gives up on a query (and its connection) after this: past PG_STATEMENT_TIMEOUT_MS, only when the server or the network hangs",
    default: 5500,
    defaultText: "PG_STATEMENT_TIMEOUT_MS + 500",
    derive: (c) => (c.PG_STATEMENT_TIMEOUT_MS as number) + 500,
    parse: int(100, 3_600_000),
  },
  PG_IDLE_IN_TRANSACTION_TIMEOUT_MS: {
    doc: "PostgreSQL ends a session idle this long inside a transaction (a client that hung mid-transaction releases its locks)",
    default: 10_000,
    defaultText: "2 * PG_STATEMENT_TIMEOUT_MS",
    derive: (c) => 2 * (c.PG_STATEMENT_TIMEOUT_MS as number),
    parse: int(100, 3_600_000),
  },
  KAFKA_REQUEST_TIMEOUT_MS: {
    doc: "one Kafka request's timeout; a produce gives up after two attempts (a claim is answered 503 at REQUEST_TIMEOUT_MS anyway)",
    default: 3000,
    parse: int(100, 600_000),
  },
  KAFKA_CONNECT_TIMEOUT_MS: {
    doc: "a Kafka broker connection not made within this fails (and is tried again)",
    default: 3000,
    parse: int(100, 600_000),
  },
  READINESS_TIMEOUT_MS: {
    doc: "a dependency that does not answer /readyz's probe within this is reported not ready",
    default: 2500,
    defaultText: "REQUEST_TIMEOUT_MS / 2",
    derive: (c) => Math.ceil(requestTimeout(c) / 2),
    parse: int(50, 600_000),
  },
  EXPORT_CSV_NEUTRALISE: {
    doc: "CSV exports prefix cells a spreadsheet would run as a formula (= + - @ TAB CR) with ' (false: values exact; ?spreadsheetSafe= overrides per request)",
    default: true,
    parse: bool,
  },
  SSE_MAX_PER_CLIENT: {
    doc: "event streams (SSE) one client address may hold open at once; beyond, 429 rate_limited with Retry-After",
    default: 20,
    parse: int(1, 1_000_000),
  },
  SSE_MAX_TOTAL: {
    doc: "event streams (SSE) one API process holds open at once; beyond, 503 unavailable with Retry-After",
    default: 10_000,
    parse: int(1, 10_000_000),
  },
  WEBHOOK_ALLOW_PRIVATE: {
    doc: "let webhooks reach loopback, private (RFC 1918, fc00::/7), link-local and metadata addresses; refused by default (SSRF)",
    default: false,
    parse: bool,
  },
  USER_TOKEN_AUDIENCE: {
    doc: "when set, user tokens must name this audience in `aud`",
    default: undefined,
    defaultText: "(not checked)",
    parse: optionalStr,
  },
  USER_TOKEN_ISSUER: {
    doc: "when set, user tokens must carry this issuer in `iss`",
    default: undefined,
    defaultText: "(not checked)",
    parse: optionalStr,
  },
  METRICS_TOKEN: {
    doc: "when set, GET /metrics needs Authorization: Bearer <METRICS_TOKEN> (api and worker)",
    default: undefined,
    defaultText: "(open)",
    parse: secret(16),
  },
  METRICS_CAMPAIGN_LABELS: {
    doc: "label queue lag by each campaign's stream (QUEUE=redis); off, it is summed per consumer group so /metrics stays bounded",
    default: false,
    parse: bool,
  },
} satisfies Record<string, Setting<unknown>>;

type Settings = typeof SETTINGS;
export type Config = { [K in keyof Settings]: ReturnType<Settings[K]["parse"]> };
export type SettingName = keyof Settings;

/** `PORT` <-> `--port`, `LISTEN_BACKLOG` <-> `--listen-backlog`. */
export const flagName = (name: string): string => name.toLowerCase().replaceAll("_", "-");

/** A loaded configuration and the settings it was given (a flag or an environment variable). */
export interface LoadedSettings {
  config: Config;
  given: ReadonlySet<SettingName>;
}

/**
 * Reads every setting from CLI flags (first) and the environment, validates
 * them, and throws a ConfigError naming the first bad one. Unknown flags are
 * refused too: a typo must not silently fall back to a default.
 */
export function loadConfig(env: NodeJS.ProcessEnv, argv: string[] = []): Config {
  return readSettings(env, argv).config;
}

/** loadConfig, also telling which settings were given (the per-command rules need it: ./commands.ts). */
export function readSettings(env: NodeJS.ProcessEnv, argv: string[] = []): LoadedSettings {
  const options: Record<string, { type: "string" }> = {};
  for (const name of Object.keys(SETTINGS)) options[flagName(name)] = { type: "string" };
  let flags: Record<string, string | undefined>;
  try {
    flags = parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values as Record<
      string,
      string | undefined
    >;
  } catch (error) {
    throw new ConfigError("(flags)", (error as Error).message);
  }
  const config: Record<string, unknown> = {};
  const given = new Set<SettingName>();
  for (const [name, setting] of Object.entries(SETTINGS) as [SettingName, Setting<unknown>][]) {
    const raw = flags[flagName(name)] ?? env[name];
    if (raw !== undefined) {
      given.add(name);
      config[name] = setting.parse(raw, name);
    } else config[name] = setting.derive ? setting.derive(config) : setting.default;
  }
  const result = config as Config;
  validateConfig(result);
  return { config: result, given };
}

/** The rules between settings, checked once here for every command. */
export function validateConfig(config: Config): void {
  if (config.QUEUE === "kafka" && config.KAFKA_BROKERS.length === 0)
    throw new ConfigError("KAFKA_BROKERS", "required when QUEUE=kafka");
  if (
    config.KAFKA_REPLICATION_FACTOR > 0 &&
    config.KAFKA_MIN_INSYNC_REPLICAS > config.KAFKA_REPLICATION_FACTOR
  )
    throw new ConfigError(
      "KAFKA_MIN_INSYNC_REPLICAS",
      `above KAFKA_REPLICATION_FACTOR (${config.KAFKA_REPLICATION_FACTOR}): Kafka would refuse every claim`,
    );
}

/**
 * `env` without any stampede setting: what a process started by another
 * (tests, the bench harness) inherits, so that it gets only the settings it
 * is given and not, say, the REDIS_URL exported for the harness itself.
 */
export function withoutSettings(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const clean = { ...env };
  for (const name of Object.keys(SETTINGS)) delete clean[name];
  return clean;
}
