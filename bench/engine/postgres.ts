/**
 * Optional checks against the PostgreSQL ledger (--database-url): the rows,
 * not the API's view of them. Assumes the ledger's `claims` table with the
 * columns of the embedded ledger (claim_id, campaign_id, user_id, unit,
 * coupon_code). `pg` is loaded only here, so the tool runs without it.
 */

import type { DatabaseFacts } from "./invariants.ts";

interface PgClient {
  connect(): Promise<void>;
  query(sql: string, params?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
  end(): Promise<void>;
}

export async function databaseFacts(
  url: string,
  schema: string,
  campaignId: string,
  perUserLimit: number,
): Promise<DatabaseFacts> {
  const moduleName = "pg";
  let pg: { default?: { Client: new (o: object) => PgClient }; Client?: new (o: object) => PgClient };
  try {
    pg = (await import(moduleName)) as typeof pg;
  } catch {
    throw new Error("--database-url needs the pg package (npm install pg)");
  }
  const Client = pg.default?.Client ?? pg.Client;
  if (!Client) throw new Error("the pg package has no Client export");
  const client = new Client({ connectionString: url });
  await client.connect();
  const table = `"${schema.replaceAll('"', '""')}".claims`;
  try {
    const count = await client.query(
      `SELECT count(*)::int AS rows, coalesce(max(unit), 0)::int AS max_unit,
              (count(*) - count(DISTINCT unit))::int AS duplicate_units
         FROM ${table} WHERE campaign_id = $1`,
      [campaignId],
    );
    const over = await client.query(
      `SELECT count(*)::int AS users FROM (
         SELECT user_id FROM ${table} WHERE campaign_id = $1 GROUP BY user_id HAVING count(*) > $2) o`,
      [campaignId, perUserLimit],
    );
    const coupons = await client.query(`SELECT claim_id, coupon_code FROM ${table} WHERE campaign_id = $1`, [
      campaignId,
    ]);
    const row = count.rows[0]!;
    return {
      rows: Number(row.rows),
      maxUnit: Number(row.max_unit),
      duplicateUnits: Number(row.duplicate_units),
      usersOverLimit: Number(over.rows[0]!.users),
      coupons: new Map(coupons.rows.map((r) => [String(r.claim_id), String(r.coupon_code)])),
    };
  } finally {
    await client.end();
  }
}
