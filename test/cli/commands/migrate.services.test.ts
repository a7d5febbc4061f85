import assert from "node:assert/strict";
import { test } from "node:test";
import { runCli } from "../../helpers/cli.ts";
import { DATABASE_URL, skipWithoutPostgres, sql, testSchema } from "../../helpers/services.ts";

/** `stampede migrate` against the shared PostgreSQL. */
const skip = await skipWithoutPostgres();

test("stampede migrate uses PostgreSQL when DATABASE_URL is set; two at once are fine", {
  skip,
}, async (t) => {
  const schema = testSchema(t, "cli");
  const results = await Promise.all(
    [1, 2].map(() => runCli(["migrate"], { DATABASE_URL, DATABASE_SCHEMA: schema })),
  );
  for (const r of results) {
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /PostgreSQL ledger .* is up to date/);
  }
  const tables = await sql<{ table_name: string }>(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name",
    [schema],
  );
  assert.deepEqual(
    tables.map((r) => r.table_name),
    ["campaign_audit", "campaigns", "claims", "deliveries", "redis_epochs", "schema_migrations", "webhooks"],
  );
});
