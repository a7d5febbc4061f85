/**
 * The ledger's schema name as an SQL identifier, escaped here once; every
 * query module takes the result and never sees the raw name.
 */
export type Schema = string & { readonly __schema: unique symbol };

export function quoteSchema(name: string): Schema {
  if (name === "" || name.length > 63) throw new Error("DATABASE_SCHEMA must be 1 to 63 characters");
  return `"${name.replaceAll('"', '""')}"` as Schema;
}
