/** What only the PostgreSQL ledger does; the Ledger port's behaviour is test/contracts/ledger.ts. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { migrations } from "../../../src/adapters/postgres/migrate.ts";
import { PostgresLedger } from "../../../src/adapters/postgres/postgres-ledger.ts";
import { campaign, claim } from "../../contracts/ledger.ts";
import { DATABASE_URL, skipWithoutServices, sql, testSchema } from "../../helpers/services.ts";

const skip = await skipWithoutServices();

type After = { after: (fn: () => Promise<void> | void) => void };

function ledger(t: After, schema: string): PostgresLedger {
  const l = new PostgresLedger({ connectionString: DATABASE_URL, schema });
  t.after(() => l.close());
  return l;
}

test("migrate: several processes at once apply each migration once", { skip }, async (t) => {
  const schema = testSchema(t, "migrate");
  const ledgers = Array.from({ length: 4 }, () => ledger(t, schema));
  await Promise.all(ledgers.map((l) => l.migrate()));
  const rows = await sql<{ version: number; name: string }>(
    `SELECT version, name FROM "${schema}".schema_migrations ORDER BY version`,
  );
  assert.deepEqual(
    rows,
    migrations().map(({ version, name }) => ({ version, name })),
  );
  await ledgers[0]!.migrate(); // and again later: nothing to do
});

test("issue: two workers writing the same batch at once both see it issued, none as a conflict", {
  skip,
}, async (t) => {
  const schema = testSchema(t, "race");
  const a = ledger(t, schema);
  const b = ledger(t, schema);
  await a.migrate();
  await a.createCampaign(campaign("c1", { stock: 500 }));
  const batch = Array.from({ length: 300 }, (_, i) => claim("c1", i + 1));
  const [ra, rb] = await Promise.all([a.issue(batch, 1), b.issue(batch, 2)]);
  assert.equal(ra.conflicts.length + rb.conflicts.length, 0);
  assert.equal(ra.issued.length, 300);
  assert.equal(rb.issued.length, 300);
  assert.equal(await a.issuedCount("c1"), 300);
});

test("Redis epochs count up per campaign, with the highest unit the ledger holds", { skip }, async (t) => {
  const l = ledger(t, testSchema(t, "epochs"));
  await l.migrate();
  await l.createCampaign(campaign("c1", { stock: 100 }));
  await l.createCampaign(campaign("c2", { stock: 5 }));
  await l.issue([claim("c1", 62), claim("c1", 7)], 5);
  assert.equal(await l.nextRedisEpoch("c1"), 1);
  assert.equal(await l.nextRedisEpoch("c1"), 2);
  const epochs = new Map((await l.redisEpochs()).map((e) => [e.campaignId, e]));
  const { endsAt } = campaign("c1");
  assert.deepEqual(epochs.get("c1"), { campaignId: "c1", epoch: 2, maxUnit: 62, endsAt });
  assert.deepEqual(epochs.get("c2"), { campaignId: "c2", epoch: 0, maxUnit: 0, endsAt });
});

test("a schema name is an identifier, never SQL", { skip }, async (t) => {
  const schema = testSchema(t, 'odd"; DROP TABLE x; --');
  const l = ledger(t, schema);
  await l.migrate();
  assert.equal(await l.createCampaign(campaign("c1")), true);
  const rows = await sql<{ n: number }>(
    "SELECT count(*)::int AS n FROM information_schema.schemata WHERE schema_name = $1",
    [schema],
  );
  assert.equal(rows[0]?.n, 1);
});
