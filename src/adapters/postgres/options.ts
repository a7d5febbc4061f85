import type { Config } from "../../config/config.ts";

/**
 * The PostgreSQL ledger's options, and the deadlines on every call it makes.
 * A PostgreSQL that hangs (a stopped server, a full disk, a lock queue)
 * must fail a call in a known time, never hold it: the API then answers
 * 503, the worker retries its batch (the queue keeps it until the ledger
 * wrote it). Three layers, from the inside out:
 *
 * - `statement_timeout` (server side): PostgreSQL cancels a statement that
 *   runs too long and the connection stays usable. A worker's batch is one
 *   statement (sql/insert-claims.ts) and must fit well inside it.
 * - `query_timeout` (client side): the client stops waiting when the server
 *   does not answer at all (it hangs, or the network does); the connection,
 *   whose state is then unknown, is destroyed, not reused.
 * - `connectionTimeoutMillis`: how long a query waits for a pooled
 *   connection, and for a new connection's handshake.
 *
 * `idle_in_transaction_session_timeout` protects the server from a client
 * that hung inside a transaction, holding its locks.
 */
export interface PostgresTimeouts {
  /** PG_CONNECT_TIMEOUT_MS */
  connectTimeoutMs: number;
  /** PG_STATEMENT_TIMEOUT_MS */
  statementTimeoutMs: number;
  /** PG_QUERY_TIMEOUT_MS */
  queryTimeoutMs: number;
  /** PG_IDLE_IN_TRANSACTION_TIMEOUT_MS */
  idleInTransactionTimeoutMs: number;
}

export interface PostgresLedgerOptions {
  connectionString: string;
  schema: string;
  /** Pool size. */
  max?: number;
  /** Reports errors of idle pooled connections (e.g. the server restarted); they are never thrown. */
  onError?: (error: Error) => void;
  /** The deadlines (default: the settings' defaults, for REQUEST_TIMEOUT_MS = 5000). */
  timeouts?: PostgresTimeouts;
}

export const DEFAULT_TIMEOUTS: PostgresTimeouts = {
  connectTimeoutMs: 2500,
  statementTimeoutMs: 5000,
  queryTimeoutMs: 5500,
  idleInTransactionTimeoutMs: 10_000,
};

/** The deadlines as the settings give them. */
export function postgresTimeouts(
  config: Pick<
    Config,
    | "PG_CONNECT_TIMEOUT_MS"
    | "PG_STATEMENT_TIMEOUT_MS"
    | "PG_QUERY_TIMEOUT_MS"
    | "PG_IDLE_IN_TRANSACTION_TIMEOUT_MS"
  >,
): PostgresTimeouts {
  return {
    connectTimeoutMs: config.PG_CONNECT_TIMEOUT_MS,
    statementTimeoutMs: config.PG_STATEMENT_TIMEOUT_MS,
    queryTimeoutMs: config.PG_QUERY_TIMEOUT_MS,
    idleInTransactionTimeoutMs: config.PG_IDLE_IN_TRANSACTION_TIMEOUT_MS,
  };
}

/** node-postgres pool options for these deadlines. */
export function poolDeadlines(t: PostgresTimeouts) {
  return {
    connectionTimeoutMillis: t.connectTimeoutMs,
    statement_timeout: t.statementTimeoutMs,
    query_timeout: t.queryTimeoutMs,
    idle_in_transaction_session_timeout: t.idleInTransactionTimeoutMs,
    // A peer that vanished without a reset is found by the kernel, not only by a query's deadline.
    keepAlive: true,
  };
}

/**
 * Migrations may rewrite a large table (an index, a backfill): their
 * statements run without the statement timeout, within this much.
 */
export const MIGRATION_QUERY_TIMEOUT_MS = 30 * 60_000;
