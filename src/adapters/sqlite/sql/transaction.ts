import type { Db } from "./db.ts";

/**
 * Runs `fn` in one write transaction: COMMIT when it returns, ROLLBACK when
 * it throws. BEGIN IMMEDIATE takes the write lock at once: a second writer on
 * the same file (the embedded worker's thread, threaded-issuer.ts, or another
 * process migrating) waits for it (busy_timeout) instead of failing half-way
 * when it would upgrade a read lock. node:sqlite is synchronous, so nothing
 * else runs on this connection in between.
 */
export function inTransaction<T>(db: Db, fn: (db: Db) => T): T {
  db.exec("BEGIN IMMEDIATE");
  try {
    const result = fn(db);
    db.exec("COMMIT");
    return result;
  } catch (error) {
    // Some errors (SQLITE_FULL, an I/O error) end the transaction themselves.
    if (db.isTransaction) db.exec("ROLLBACK");
    throw error;
  }
}
