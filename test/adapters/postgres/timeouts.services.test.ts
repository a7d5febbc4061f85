/**
 * The PostgreSQL ledger's deadlines (src/adapters/postgres/options.ts):
 * statement_timeout on a slow statement, query_timeout and the connection
 * timeout on a server that hangs (a cluster of the test's own, SIGSTOPped),
 * and a pool that works again once the server resumes.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { PostgresLedger } from "../../../src/adapters/postgres/postgres-ledger.ts";
import { campaign, claim } from "../../contracts/ledger.ts";
import { skipWithoutOwnPostgres, startOwnPostgres } from "../../helpers/own-postgres.ts";
import { DATABASE_URL, skipWithoutServices, testSchema } from "../../helpers/services.ts";

const timeouts = {
  connectTimeoutMs: 400,
  statementTimeoutMs: 300,
  queryTimeoutMs: 600,
  idleInTransactionTimeoutMs: 1000,
};

async function timed(work: Promise<unknown>): Promise<{ ms: number; error?: Error }> {
  const started = performance.now();
  try {
    await work;
    return { ms: performance.now() - started };
  } catch (error) {
    return { ms: performance.now() - started, error: error as Error };
  }
}

test("a statement running past statement_timeout is cancelled by the server; the connection stays usable", {
  skip: await skipWithoutServices(),
}, async (t) => {
  const ledger = new PostgresLedger({
    connectionString: DATABASE_URL,
    schema: testSchema(t, "slow"),
    timeouts,
    max: 1,
  });
  t.after(() => ledger.close());
  const slow = await timed(ledger.pool.query("SELECT pg_sleep(2)"));
  assert.match(String(slow.error?.message), /statement timeout/);
  assert.ok(slow.ms < 1000, `cancelled after ${slow.ms} ms`);
  await ledger.ping();
});

test("migrations run without the statement timeout", { skip: await skipWithoutServices() }, async (t) => {
  const ledger = new PostgresLedger({
    connectionString: DATABASE_URL,
    schema: testSchema(t, "migrate"),
    timeouts: { ...timeouts, statementTimeoutMs: 1 },
  });
  t.after(() => ledger.close());
  await assert.rejects(ledger.pool.query("SELECT pg_sleep(0.05)"), /statement timeout/);
  // The lock, the bookkeeping and each migration: all far past 1 ms together.
  await ledger.migrate();
});

test("a hung server: every call fails within the query or connection timeout, and the pool recovers", {
  skip: await skipWithoutOwnPostgres(),
  timeout: 120_000,
}, async (t) => {
  const own = await startOwnPostgres(t);
  const ledger = new PostgresLedger({ connectionString: own.url, schema: "frozen", timeouts, max: 2 });
  t.after(() => ledger.close());
  await ledger.migrate();
  await ledger.createCampaign(campaign("c1", { stock: 100 }));
  const issuedAt = Date.now();
  const [first, second] = [claim("c1", 1), claim("c1", 2)];
  await ledger.write([first], issuedAt);

  own.freeze();
  t.after(() => own.thaw());
  // More calls than pooled connections: some wait on their query, the others for a connection.
  const calls = await Promise.all([
    timed(ledger.findClaim(first.claimId)),
    timed(ledger.write([second], issuedAt)),
    timed(ledger.ping()),
    timed(ledger.getCampaign("c1")),
    timed(ledger.lifecycle.auditLog("c1", 0, 10)),
  ]);
  for (const [i, call] of calls.entries()) {
    assert.ok(call.error, `call ${i} fails (${call.ms} ms)`);
    assert.ok(
      call.ms < timeouts.queryTimeoutMs + timeouts.connectTimeoutMs + 500,
      `failed after ${call.ms} ms`,
    );
  }
  // New connections hang in the handshake: the connection timeout.
  const fresh = await timed(ledger.ping());
  assert.ok(fresh.error);
  assert.ok(
    fresh.ms < timeouts.queryTimeoutMs + timeouts.connectTimeoutMs + 500,
    `failed after ${fresh.ms} ms`,
  );

  own.thaw();
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await ledger.ping();
      break;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const result = await ledger.write([second], issuedAt);
  assert.deepEqual(
    result.written.map((c) => c.claimId),
    [second.claimId],
    "the batch retried after the hang is written, once",
  );
  assert.equal(await ledger.issuedCount("c1"), 2);
});
