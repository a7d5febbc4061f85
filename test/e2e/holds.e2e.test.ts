import assert from "node:assert/strict";
import { test } from "node:test";
import { embeddedLedgerRows, holdsClient, holdsLoad, holdsRace } from "../helpers/holds.ts";
import { startServer } from "../helpers/server-process.ts";
import { tempDir } from "../helpers/tmp.ts";

/**
 * Issue 16's holds load test and race (docs/api.md "Holds") against a real
 * `stampede start` process: the scenarios are test/helpers/holds.ts, which
 * distributed mode runs too. Holds of a few seconds need a lower
 * HOLD_MIN_SECONDS (tests only); nothing rate-limits the users.
 */
const ADMIN = "holds-e2e-admin-token-0123456789";

async function embedded(t: { after: (fn: () => unknown) => void }) {
  const dataDir = tempDir(t);
  const server = await startServer("start", {
    DATA_DIR: dataDir,
    ADMIN_TOKEN: ADMIN,
    FSYNC: "always",
    HOLD_MIN_SECONDS: "1",
    RATE_LIMIT_USER: "off",
  });
  t.after(() => server.stop("SIGKILL"));
  const client = holdsClient(server.url, ADMIN);
  t.after(() => client.close());
  return { dataDir, server, client };
}

test("holds load: 2,000 users on a stock of 500 holds of 3 s; 60% confirm, 20% release, 20% expire; a second wave takes the rest", async (t) => {
  const { dataDir, client } = await embedded(t);
  const figures = await holdsLoad(client, {
    campaignId: "tickets",
    users: 2000,
    stock: 500,
    holdSeconds: 3,
    rows: () => embeddedLedgerRows(dataDir, "tickets"),
    log: (m) => t.diagnostic(m),
  });
  assert.deepEqual(
    [figures.admitted, figures.confirmedFirst, figures.released, figures.expired, figures.secondWave],
    [500, 300, 100, 100, 200],
  );
});

test("the race: confirms within 50 ms either side of expiresAt end issued (200) or expired (410), never both, never neither", async (t) => {
  const { dataDir, client } = await embedded(t);
  await holdsRace(client, {
    campaignId: "race",
    holds: 400,
    holdSeconds: 2,
    rows: () => embeddedLedgerRows(dataDir, "race"),
    log: (m) => t.diagnostic(m),
  });
});
