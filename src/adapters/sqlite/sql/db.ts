import type { DatabaseSync, StatementSync } from "node:sqlite";

/** What the query modules run on: one node:sqlite connection. */
export type Db = DatabaseSync;

const prepared = new WeakMap<Db, Map<string, StatementSync>>();

/**
 * The connection's prepared statement for `text`, prepared on first use (the
 * tables exist only once migrate() ran) and reused after: each query module
 * names its SQL once, as text, and never holds a statement itself. Cached per
 * connection, and dropped with it.
 */
export function statement(db: Db, text: string): StatementSync {
  let statements = prepared.get(db);
  if (!statements) {
    statements = new Map();
    prepared.set(db, statements);
  }
  let found = statements.get(text);
  if (!found) {
    found = db.prepare(text);
    statements.set(text, found);
  }
  return found;
}
