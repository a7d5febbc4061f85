import type pg from "pg";
import type { Db } from "./db.ts";

/** Runs `fn` on one pooled connection inside BEGIN/COMMIT (ROLLBACK on error); the caller never holds the client. */
export async function inTransaction<T>(pool: pg.Pool, fn: (db: Db) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const result = await fn(client as unknown as Db);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
