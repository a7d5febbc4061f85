import assert from "node:assert/strict";
import { test } from "node:test";
import { migrations } from "../../../src/adapters/postgres/migrate.ts";
import { PostgresLedger } from "../../../src/adapters/postgres/postgres-ledger.ts";
import type { Campaign, Claim } from "../../../src/domain/types.ts";
import { DATABASE_URL, skipWithoutServices, sql, testSchema } from "../../helpers/services.ts";

const skip = await skipWithoutServices();

type After = { after: (fn: () => Promise<void> | void) => void };

function ledger(t: After, schema: string): PostgresLedger {
  const l = new PostgresLedger({ connectionString: DATABASE_URL, schema });
  t.after(() => l.close());
  return l;
}

const campaign = (id: string, stock = 10): Campaign => ({
  id,
  name: `campaign ${id}`,
  stock,
  perUserLimit: 1,
  startsAt: null,
  endsAt: 1_900_000_000_000,
  createdAt: 1_800_000_000_000,
  status: "open",
  revision: 0,
});

let n = 0;
const claim = (campaignId: string, unit: number, over: Partial<Claim> = {}): Claim => ({
  claimId: `claim-${++n}-${unit}`,
  campaignId,
  userId: `user-${unit}`,
  seq: 1,
  unit,
  couponCode: `CODE-${n}-${unit}`,
  admittedAt: 1_800_000_000_123,
  status: "pending",
  ...over,
});

test("migrate: several processes at once apply each migration once", { skip }, async (t) => {
  const schema = testSchema(t, "migrate");
  const ledgers = Array.from({ length: 4 }, () => ledger(t, schema));
  await Promise.all(ledgers.map((l) => l.migrate()));
  const rows = await sql<{ version: number }>(`SELECT version FROM "${schema}".schema_migrations`);
  assert.deepEqual(
    rows.map((r) => r.version),
    migrations().map((m) => m.version),
  );
  await ledgers[0]!.migrate(); // and again later: nothing to do
});

test("campaigns: created once, read back with epoch-millisecond times", { skip }, async (t) => {
  const l = ledger(t, testSchema(t, "campaigns"));
  await l.migrate();
  assert.equal(await l.createCampaign(campaign("c1")), true);
  assert.equal(await l.createCampaign(campaign("c1")), false);
  assert.deepEqual(await l.getCampaign("c1"), campaign("c1"));
  assert.equal(await l.getCampaign("nope"), undefined);
  assert.deepEqual(
    (await l.listCampaigns()).map((c) => c.id),
    ["c1"],
  );
});

test("issue: one statement per batch; redeliveries are issued again, collisions are conflicts", {
  skip,
}, async (t) => {
  const l = ledger(t, testSchema(t, "issue"));
  await l.migrate();
  await l.createCampaign(campaign("c1"));
  const batch = [claim("c1", 1), claim("c1", 2, { idempotencyKey: "k-2" }), claim("c1", 3)];
  const first = await l.issue(batch, 1_800_000_001_000);
  assert.equal(first.issued.length, 3);
  assert.equal(first.conflicts.length, 0);
  assert.ok(first.issued.every((c) => c.status === "issued" && c.issuedAt === 1_800_000_001_000));

  // A redelivery keeps the first issuedAt; a different claim on a held unit,
  // user slot or code is refused.
  const again = await l.issue(
    [
      batch[0]!,
      claim("c1", 2, { userId: "someone-else" }),
      claim("c1", 9, { userId: "user-3" }),
      claim("c1", 8, { couponCode: batch[2]!.couponCode }),
      claim("c1", 4),
    ],
    1_800_000_002_000,
  );
  const issuedAt = new Map(again.issued.map((c) => [c.claimId, c.issuedAt]));
  assert.equal(issuedAt.size, 2);
  assert.equal(issuedAt.get(batch[0]!.claimId), 1_800_000_001_000, "redelivered: first issuedAt kept");
  assert.ok([...issuedAt.values()].includes(1_800_000_002_000), "the new claim");
  assert.equal(again.conflicts.length, 3);
  assert.equal(await l.issuedCount("c1"), 4);
  const found = await l.findClaim(batch[1]!.claimId);
  assert.equal(found?.idempotencyKey, "k-2");
  assert.equal(found?.couponCode, batch[1]!.couponCode);
  assert.equal(found?.admittedAt, 1_800_000_000_123);
  assert.deepEqual(
    (await l.userClaims("c1", "user-1")).map((c) => c.claimId),
    [batch[0]!.claimId],
  );
});

test("issue: two workers writing the same batch at once both see it issued, none as a conflict", {
  skip,
}, async (t) => {
  const schema = testSchema(t, "race");
  const a = ledger(t, schema);
  const b = ledger(t, schema);
  await a.migrate();
  await a.createCampaign(campaign("c1", 500));
  const batch = Array.from({ length: 300 }, (_, i) => claim("c1", i + 1));
  const [ra, rb] = await Promise.all([a.issue(batch, 1), b.issue(batch, 2)]);
  assert.equal(ra.conflicts.length + rb.conflicts.length, 0);
  assert.equal(ra.issued.length, 300);
  assert.equal(rb.issued.length, 300);
  assert.equal(await a.issuedCount("c1"), 300);
});

test("campaignClaims pages through every claim in unit order; epochs count up", { skip }, async (t) => {
  const l = ledger(t, testSchema(t, "pages"));
  await l.migrate();
  await l.createCampaign(campaign("c1", 20_000));
  await l.createCampaign(campaign("c2", 5));
  const batch = Array.from({ length: 6200 }, (_, i) => claim("c1", 6200 - i));
  await l.issue(batch, 5);
  const units: number[] = [];
  for await (const c of l.campaignClaims("c1")) units.push(c.unit);
  assert.equal(units.length, 6200);
  assert.ok(units.every((u, i) => u === i + 1));

  assert.equal(await l.nextRedisEpoch("c1"), 1);
  assert.equal(await l.nextRedisEpoch("c1"), 2);
  const epochs = new Map((await l.redisEpochs()).map((e) => [e.campaignId, e]));
  assert.deepEqual(epochs.get("c1"), {
    campaignId: "c1",
    epoch: 2,
    maxUnit: 6200,
    endsAt: 1_900_000_000_000,
  });
  assert.deepEqual(epochs.get("c2"), { campaignId: "c2", epoch: 0, maxUnit: 0, endsAt: 1_900_000_000_000 });
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
