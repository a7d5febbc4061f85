/**
 * How long each dependency may take; most default to a share of
 * REQUEST_TIMEOUT_MS (./basics.ts), so they are read after it. Part of the
 * settings table (../config.ts).
 */
import { int, type Setting } from "../settings.ts";

/** REQUEST_TIMEOUT_MS as read, for the defaults derived from it. */
function requestTimeout(config: Readonly<Record<string, unknown>>): number {
  return config.REQUEST_TIMEOUT_MS as number;
}

export const TIMEOUTS = {
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
    doc: "one Kafka request's timeout; a produce gives up after three attempts (a claim is answered 503 at REQUEST_TIMEOUT_MS anyway)",
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
} satisfies Record<string, Setting<unknown>>;
