import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { ledgerMigrations } from "../../../adapters/sqlite/sqlite-ledger.ts";
import { type DoctorCheck, fail, info, ok, warn } from "../types.ts";

/**
 * The embedded ledger's schema version, read-only (a running server may hold
 * the database; WAL lets both read). Migrations run at start, so "behind"
 * means this binary is newer than the last start.
 */
export function embeddedLedgerCheck(dataDir: string): DoctorCheck {
  return {
    name: "ledger",
    async run() {
      const path = join(resolve(dataDir), "ledger.sqlite");
      const latest = Math.max(0, ...ledgerMigrations().map((m) => m.version));
      if (!existsSync(path))
        return [info("ledger", `no embedded ledger yet in ${path}: created at the first start`)];
      let db: DatabaseSync | undefined;
      try {
        db = new DatabaseSync(path, { readOnly: true });
        const row = db.prepare("SELECT max(version) AS v, count(*) AS n FROM schema_migrations").get() as {
          v: number | null;
        };
        const version = row.v ?? 0;
        if (version < latest)
          return [
            warn(
              "ledger",
              `embedded ledger schema is at version ${version}, this stampede has ${latest}`,
              "run stampede migrate (start does it too)",
            ),
          ];
        if (version > latest)
          return [
            fail(
              "ledger",
              `embedded ledger schema is at version ${version}, newer than this stampede (${latest})`,
              "run the stampede version that wrote this DATA_DIR",
            ),
          ];
        return [ok("ledger", `embedded ledger schema version ${version} (up to date)`)];
      } catch (error) {
        return [
          fail(
            "ledger",
            `cannot read ${path}: ${(error as Error).message}`,
            "check DATA_DIR and its permissions",
          ),
        ];
      } finally {
        db?.close();
      }
    },
  };
}
