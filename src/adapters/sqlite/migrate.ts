/**
 * Applies the numbered migrations (../migration-files.ts) a SQLite database
 * lacks, in order, each recorded in schema_migrations, all in one BEGIN
 * IMMEDIATE transaction: a migration is all-or-nothing across a crash, and a
 * second process migrating the same file at once waits for the write lock
 * (the connection's busy_timeout), then finds every version recorded. The
 * embedded ledger and the embedded task store both migrate with it.
 */
import type { Migration } from "../migration-files.ts";
import type { Db } from "./sql/db.ts";
import { inTransaction } from "./sql/transaction.ts";

export interface SqliteMigrateOptions {
  /**
   * The database once counted its migrations in PRAGMA user_version (the task
   * store did, before this runner): versions up to it are recorded as
   * applied, and user_version keeps following the newest version, so a
   * stampede of that time still finds the file current.
   */
  userVersion?: boolean;
}

/** Returns the versions it applied. */
export function migrate(
  db: Db,
  migrations: readonly Migration[],
  options: SqliteMigrateOptions = {},
): number[] {
  return inTransaction(db, () => {
    db.exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
    );
    const record = db.prepare("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)");
    const done = new Set(
      (db.prepare("SELECT version FROM schema_migrations").all() as { version: number }[]).map(
        (r) => r.version,
      ),
    );
    if (options.userVersion) {
      const legacy = readUserVersion(db);
      for (const m of migrations)
        if (m.version <= legacy && !done.has(m.version)) {
          record.run(m.version, Date.now());
          done.add(m.version);
        }
    }
    const applied: number[] = [];
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      db.exec(m.sql);
      record.run(m.version, Date.now());
      applied.push(m.version);
    }
    if (options.userVersion && applied.length > 0)
      db.exec(`PRAGMA user_version = ${Math.max(readUserVersion(db), ...applied)}`);
    return applied;
  });
}

const readUserVersion = (db: Db): number =>
  (db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version;
