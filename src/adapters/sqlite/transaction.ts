import type { DatabaseSync } from "node:sqlite";

/**
 * Runs `fn` in one write transaction. node:sqlite is synchronous and the
 * embedded ledger has one connection, so nothing else runs on it in between;
 * BEGIN IMMEDIATE still makes the whole of `fn` all-or-nothing across a crash.
 */
export function inTransaction<T>(db: DatabaseSync, fn: () => T): T {
  db.exec("BEGIN IMMEDIATE");
  try {
    const result = fn();
    db.exec("COMMIT");
    return result;
  } catch (error) {
    db.exec("ROLLBACK");
    throw error;
  }
}
