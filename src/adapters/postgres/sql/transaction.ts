import type pg from "pg";
import type { Db } from "./db.ts";

/**
 * Runs `fn` on one pooled connection inside BEGIN/COMMIT (ROLLBACK on error);
 * the caller never holds the client. A connection whose ROLLBACK failed too
 * (its query timed out: the server may still be running it, or hung) is
 * destroyed, never handed to the next caller in an unknown state.
 */
export async function inTransaction<T>(pool: pg.Pool, fn: (db: Db) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query("BEGIN");
    const result = await fn(client as unknown as Db);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    await client.query("ROLLBACK").catch((rollback: Error) => {
      broken = rollback;
    });
    throw error;
  } finally {
    client.release(broken);
  }
}
