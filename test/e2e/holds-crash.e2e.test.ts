import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import {
  assertUnitsOnce,
  embeddedLedgerRows,
  type HoldAnswer,
  holdsClient,
  ledgerSettles,
  waitCounters,
} from "../helpers/holds.ts";
import { countBy, pool } from "../helpers/load.ts";
import { freePort } from "../helpers/net.ts";
import { type ServerProcess, startServer } from "../helpers/server-process.ts";
import { tempDir } from "../helpers/tmp.ts";

/**
 * kill -9 of the embedded process while holds are live and expiring (issue
 * 16): expiry is decided from stored times (the ledger's held claims and the
 * journal's snapshots), so after the restart every hold that came due while
 * the process was down expires at once, the others on time; a confirmation
 * answered 200 before the kill stays issued; a confirm cut off by the kill
 * and sent again wins or loses by the same rule; nothing is issued twice.
 */
const ADMIN = "holds-crash-admin-token-0123456789";
const HOLD_SECONDS = 4;

test("kill -9 with holds live and expiring: after restart expiries on time, confirms consistent, nothing over-issued", async (t) => {
  const dataDir = tempDir(t);
  const port = await freePort();
  const env = {
    DATA_DIR: dataDir,
    ADMIN_TOKEN: ADMIN,
    FSYNC: "always",
    HOLD_MIN_SECONDS: "1",
    RATE_LIMIT_USER: "off",
    PORT: String(port),
  };
  let server: ServerProcess = await startServer("start", env);
  t.after(() => server.stop("SIGKILL"));
  const client = holdsClient(server.url, ADMIN, { retryForMs: 60_000 });
  t.after(() => client.close());
  const stock = 400;
  await client.createCampaign({ id: "kill", name: "Kill", stock, holdSeconds: HOLD_SECONDS });

  // 300 holds admitted over about 3 s; every other one is confirmed at a
  // random moment of its hold (sent again through the kill, as a client does).
  const startedAt = Date.now();
  const holds: HoldAnswer[] = [];
  const confirms: Promise<{ claim: HoldAnswer; answer: HoldAnswer }>[] = [];
  for (let chunk = 0; chunk < 10; chunk++) {
    const users = Array.from({ length: 30 }, (_, i) => `user-${chunk}-${i}`);
    const admitted = await pool(users, 30, (u) => client.claim("kill", u));
    assert.deepEqual(
      countBy(admitted, (a) => a.status),
      { 202: 30 },
    );
    for (const claim of admitted) {
      if (holds.push(claim) % 2 === 0) continue;
      confirms.push(
        (async () => {
          const at = claim.expiresAt! - HOLD_SECONDS * 1000 + Math.random() * (HOLD_SECONDS * 1000 - 200);
          await sleep(Math.max(0, at - Date.now()));
          return { claim, answer: await client.confirm(claim.claimId!) };
        })(),
      );
    }
    await sleep(300);
  }

  // Pull the plug once the first holds have expired and stay down a while:
  // holds fall due before the kill, while nothing runs, and after the restart.
  await sleep(Math.max(0, startedAt + HOLD_SECONDS * 1000 + 500 - Date.now()));
  const killedAt = Date.now();
  server.child.kill("SIGKILL");
  await server.stop("SIGKILL");
  await sleep(500);
  server = await startServer("start", env);
  const backAt = Date.now();
  assert.equal(server.url, `http://127.0.0.1:${port}`);

  const answered = await Promise.all(confirms);
  const won = answered.filter((c) => c.answer.status === 200);
  const lost = answered.filter((c) => c.answer.status === 410);
  assert.equal(
    won.length + lost.length,
    answered.length,
    JSON.stringify(countBy(answered, (c) => c.answer.status)),
  );
  for (const c of won) assert.equal(c.answer.claimStatus, "issued");
  const retried = answered.filter((c) => c.answer.attempts > 1).length;

  const rows = await ledgerSettles(
    () => embeddedLedgerRows(dataDir, "kill"),
    (r) => r.length === holds.length && r.every((x) => x.status !== "held"),
    60_000,
  );
  const byId = new Map(rows.map((r) => [r.claimId, r]));
  // Every confirm answered 200 is issued, every 410 expired, and the rule held.
  for (const { claim, answer } of answered) {
    const row = byId.get(claim.claimId!)!;
    assert.equal(row.status, answer.status === 200 ? "issued" : "expired", claim.claimId);
    if (answer.status === 200) assert.ok(row.issuedAt! < row.expiresAt!);
    else assert.ok(row.endedAt! >= row.expiresAt!);
  }
  // Every hold not confirmed expired: on time, or at once after the restart if it came due while down.
  let late = 0;
  let dueWhileDown = 0;
  let dueAfter = 0;
  const unconfirmed = holds.filter((_, i) => i % 2 === 1);
  for (const claim of unconfirmed) {
    const row = byId.get(claim.claimId!)!;
    assert.equal(row.status, "expired", claim.claimId);
    if (row.expiresAt! >= killedAt && row.expiresAt! < backAt) dueWhileDown++;
    if (row.expiresAt! >= backAt) dueAfter++;
    late = Math.max(late, row.endedAt! - Math.max(row.expiresAt!, backAt));
  }
  const issued = rows.filter((r) => r.status === "issued");
  assert.equal(issued.length, won.length, "every confirmation that won is issued once, nothing else");
  assertUnitsOnce(rows, stock);
  const counters = await waitCounters(client, "kill", (c) => c.pending === 0 && c.held === 0);
  assert.deepEqual([counters.issued, counters.remaining], [won.length, stock - won.length]);
  t.diagnostic(
    `${holds.length} holds; ${won.length} confirms won, ${lost.length} lost, ${retried} sent again through the kill; ` +
      `of the unconfirmed, ${dueWhileDown} came due while down and ${dueAfter} after the restart; ` +
      `latest expiry ${late} ms after max(expiresAt, restart); down ${backAt - killedAt} ms`,
  );
  assert.ok(dueWhileDown > 0, "some holds came due while the process was down");
  assert.ok(dueAfter > 0, "some after the restart");
  assert.ok(late < 1000, `expiries within a second (${late} ms)`);

  // The units of the expired holds are admissible again after the restart.
  const again = await pool(
    Array.from({ length: stock - won.length }, (_, i) => `after-${i}`),
    50,
    (u) => client.claim("kill", u),
  );
  assert.deepEqual(
    countBy(again, (a) => a.status),
    { 202: stock - won.length },
  );
  assert.equal((await client.claim("kill", "one-too-many")).status, 410);
});
