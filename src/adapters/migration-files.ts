import { readdirSync, readFileSync } from "node:fs";

/**
 * Numbered, append-only migrations: a folder of `NNNN_name.sql` files, applied
 * in version order by the engine's runner (postgres/migrate.ts,
 * sqlite/migrate.ts), each recorded by version in the database's
 * schema_migrations table. A schema changes in a new file, never by editing
 * one that has shipped.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

const MIGRATION_FILE = /^(\d{4})_(.+)\.sql$/;

export function readMigrations(dir: URL): Migration[] {
  return readdirSync(dir)
    .filter((file) => MIGRATION_FILE.test(file))
    .sort()
    .map((file) => {
      const [, version, name] = MIGRATION_FILE.exec(file)!;
      return { version: Number(version), name: name!, sql: readFileSync(new URL(file, dir), "utf8") };
    });
}
