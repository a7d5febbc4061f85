import type { QueryResultRow } from "pg";
import type { Schema } from "../schema.ts";

/** What the query modules need: a pool or one checked-out client. */
export interface Db {
  query<R extends QueryResultRow>(config: {
    name?: string;
    text: string;
    values?: unknown[];
    /** This query's client-side deadline instead of the pool's (migrations). */
    query_timeout?: number;
  }): Promise<{ rows: R[]; rowCount: number | null }>;
}

/**
 * A named (prepared once per connection) statement. The name carries the
 * schema, so two ledgers in one process (tests) never share a name for
 * different text on one connection.
 */
export const statement = (name: string, s: Schema, text: string, values: unknown[]) => ({
  name: `${name}:${s}`,
  text,
  values,
});
