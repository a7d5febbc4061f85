/**
 * Applies the numbered migrations (migrations/NNNN_name.sql) that the schema
 * lacks, in order, each recorded in schema_migrations inside the same
 * transaction. The whole run holds a transaction-scoped advisory lock keyed by
 * the schema, so processes starting together apply each migration once: the
 * others wait, then find it recorded.
 */
import type { Pool } from "pg";
import { type Migration, readMigrations } from "../migration-files.ts";
import type { Schema } from "./schema.ts";
import { inTransaction } from "./sql/transaction.ts";

const MIGRATIONS_DIR = new URL("./migrations/", import.meta.url);

/** The distributed ledger's migrations, as this build ships them. */
export function migrations(): Migration[] {
  return readMigrations(MIGRATIONS_DIR);
}

/** Returns the versions it applied. */
export function migrate(pool: Pool, s: Schema, schemaName: string): Promise<number[]> {
  return inTransaction(pool, async (db) => {
    const run = (text: string, values: unknown[] = []) => db.query({ text, values });
    await run("SELECT pg_advisory_xact_lock(hashtext($1))", [`stampede-migrate:${schemaName}`]);
    await run(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await run(
      `CREATE TABLE IF NOT EXISTS ${s}.schema_migrations (
         version    integer PRIMARY KEY,
         name       text NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT now()
       )`,
    );
    const { rows } = await db.query<{ version: number }>({
      text: `SELECT version FROM ${s}.schema_migrations`,
    });
    const done = new Set(rows.map((r) => r.version));
    // The migrations name their tables unqualified: they land in the ledger's schema.
    await run(`SET LOCAL search_path TO ${s}`);
    const applied: number[] = [];
    for (const m of migrations()) {
      if (done.has(m.version)) continue;
      await run(m.sql);
      await run(`INSERT INTO ${s}.schema_migrations (version, name) VALUES ($1, $2)`, [m.version, m.name]);
      applied.push(m.version);
    }
    return applied;
  });
}
