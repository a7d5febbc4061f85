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

test("write: two workers writing the same batch at once both see it issued, none as a conflict", {
  skip,
}, async (t) => {
  const schema = testSchema(t, "race");
  const a = ledger(t, schema);
  const b = ledger(t, schema);
  await a.migrate();
  await a.createCampaign(campaign("c1", { stock: 500 }));
  const batch = Array.from({ length: 300 }, (_, i) => claim("c1", i + 1));
  const [ra, rb] = await Promise.all([a.write(batch, 1), b.write(batch, 2)]);
  assert.equal(ra.conflicts.length + rb.conflicts.length, 0);
  assert.equal(ra.written.length, 300);
  assert.equal(rb.written.length, 300);
  assert.equal(await a.issuedCount("c1"), 300);
});

test("Redis epochs count up per campaign, with the highest unit the ledger holds", { skip }, async (t) => {
  const l = ledger(t, testSchema(t, "epochs"));
  await l.migrate();
  await l.createCampaign(campaign("c1", { stock: 100 }));
  await l.createCampaign(campaign("c2", { stock: 5 }));
  await l.write([claim("c1", 62), claim("c1", 7)], 5);
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

test("the holds migration keeps a ledger written before it: its claims issued, its keys guarding, its deliveries due", {
  skip,
}, async (t) => {
  const schema = testSchema(t, "holds_mig");
  const q = `"${schema}"`;
  // The schema as the release before holds left it.
  await sql(`CREATE SCHEMA ${q}`);
  await sql(
    `CREATE TABLE ${q}.schema_migrations (version integer PRIMARY KEY, name text NOT NULL,
       applied_at timestamptz NOT NULL DEFAULT now())`,
  );
  for (const m of migrations().filter((m) => m.version <= 2)) {
    await sql(`SET search_path TO ${q}; ${m.sql}`);
    await sql(`INSERT INTO ${q}.schema_migrations (version, name) VALUES ($1, $2)`, [m.version, m.name]);
  }
  await sql(`
    INSERT INTO ${q}.campaigns (id, name, stock, per_user_limit, created_at) VALUES ('old', 'Old', 5, 1, 1);
    INSERT INTO ${q}.redis_epochs (campaign_id) VALUES ('old');
    INSERT INTO ${q}.claims (claim_id, campaign_id, user_id, seq, unit, coupon_code, admitted_at, issued_at)
      VALUES ('claim-a', 'old', 'alice', 1, 1, 'CODE-A', 10, 20), ('claim-b', 'old', 'bob', 1, 2, 'CODE-B', 11, 21);
    INSERT INTO ${q}.webhooks (campaign_id, url, secret, updated_at) VALUES ('old', 'https://shop.example/h', 's', 1);
    INSERT INTO ${q}.deliveries (claim_id, campaign_id, next_attempt_at, created_at) VALUES ('claim-a', 'old', 30, 20);`);

  const l = ledger(t, schema);
  await l.migrate();
  const applied = await sql<{ version: number }>(
    `SELECT version FROM ${q}.schema_migrations ORDER BY version`,
  );
  assert.deepEqual(
    applied.map((r) => r.version),
    migrations().map((m) => m.version),
  );
  const a = await l.findClaim("claim-a");
  assert.deepEqual([a?.status, a?.issuedAt, a?.expiresAt], ["issued", 20, undefined]);
  assert.deepEqual(await l.counts("old"), { issued: 2, held: 0 });
  const thief = { ...claim("old", 2), userId: "carol" };
  assert.equal((await l.write([thief], 60)).conflicts[0]?.blocker?.claimId, "claim-b");
  const due = await l.deliveries.claimDue(100, 10, 200);
  assert.deepEqual(
    due.map((d) => [d.deliveryId, d.event, d.claim.claimId]),
    [["iss_claim-a", "claim.issued", "claim-a"]],
  );
});
