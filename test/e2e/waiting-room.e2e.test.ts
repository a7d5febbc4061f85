import { test } from "node:test";
import { embeddedLedgerRows } from "../helpers/holds.ts";
import { type ServerProcess, startServer } from "../helpers/server-process.ts";
import { tempDir } from "../helpers/tmp.ts";
import { fairOpening, roomClient } from "../helpers/waiting-room.ts";

/**
 * Issue 17's fair opening against a real embedded process: 5,000 users join
 * during the pre-queue in random order and at random moments, 1,000 more
 * after the opening. With stock for everyone, the order of admission is the
 * HMAC order recomputed from the revealed seed, then the late joiners in
 * arrival order, and watched streams see their position fall and their ETA
 * with it; with stock 3,000, exactly the first 3,000 in line get claims and
 * every other ticket ends sold_out at once (test/helpers/waiting-room.ts
 * says what is checked).
 */
const ADMIN = "room-e2e-admin-token-0123456789";

async function server(t: { after: (fn: () => unknown) => void }) {
  const dataDir = tempDir(t);
  const started: ServerProcess = await startServer("start", {
    DATA_DIR: dataDir,
    ADMIN_TOKEN: ADMIN,
    FSYNC: "always",
    RATE_LIMIT_USER: "off",
    SSE_MAX_PER_CLIENT: "200",
  });
  t.after(() => started.stop("SIGKILL"));
  const client = roomClient(started.url, ADMIN, { maxSockets: 128 });
  t.after(() => client.close());
  return { dataDir, client };
}

test("5,000 pre-queued and 1,000 late joiners, stock for all: admitted in HMAC order then arrival order", async (t) => {
  const { dataDir, client } = await server(t);
  await fairOpening(client, {
    campaignId: "everyone",
    prequeued: 5000,
    late: 1000,
    stock: 6000,
    releasePerSecond: 1500,
    prequeueMs: 6000,
    watchers: 20,
    rows: () => embeddedLedgerRows(dataDir, "everyone"),
    log: (m) => t.diagnostic(m),
  });
});

test("5,000 pre-queued and 1,000 late joiners, stock 3,000: exactly the first 3,000 get claims, the rest sold out at once", async (t) => {
  const { dataDir, client } = await server(t);
  await fairOpening(client, {
    campaignId: "three-thousand",
    prequeued: 5000,
    late: 1000,
    stock: 3000,
    // Slow enough that the late joiners are all in line before the stock runs out.
    releasePerSecond: 600,
    prequeueMs: 6000,
    watchers: 10,
    rows: () => embeddedLedgerRows(dataDir, "three-thousand"),
    log: (m) => t.diagnostic(m),
  });
});
