import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { embeddedLedgerRows, ledgerSettles } from "../helpers/holds.ts";
import { countBy, pool } from "../helpers/load.ts";
import { freePort } from "../helpers/net.ts";
import { type ServerProcess, startServer } from "../helpers/server-process.ts";
import { tempDir } from "../helpers/tmp.ts";
import { assertDraw, lineOrder, readTickets, roomClient, ticketUntil } from "../helpers/waiting-room.ts";

/**
 * kill -9 of the embedded process during the pre-queue and during the
 * release (issue 17): a join answered 202 is durable (its record fsync'ed
 * to the tickets journal first), so every ticket comes back, and a join cut
 * off by the kill and sent again gets the same ticket or its first one: one
 * ticket per user, never two. The seed was in the ledger before the
 * commitment was shown, so the draw is the same. A release cut off by the
 * kill resumes where the durable claims end, in line order; a released
 * ticket's claim carries the ticket's id, so none is admitted twice.
 */
const ADMIN = "room-crash-admin-token-0123456789";

test("kill -9 during the pre-queue and during release: no ticket lost or duplicated, the draw unchanged, release resumes in order", async (t) => {
  const dataDir = tempDir(t);
  const env = {
    DATA_DIR: dataDir,
    ADMIN_TOKEN: ADMIN,
    FSYNC: "always",
    RATE_LIMIT_USER: "off",
    PORT: String(await freePort()),
  };
  let server: ServerProcess = await startServer("start", env);
  t.after(() => server.stop("SIGKILL"));
  const client = roomClient(() => server.url, ADMIN, { retryForMs: 60_000, maxSockets: 64 });
  t.after(() => client.close());
  const restart = async () => {
    server.child.kill("SIGKILL");
    await server.stop("SIGKILL");
    await sleep(200);
    server = await startServer("start", env);
  };

  const stock = 1100;
  const startsAt = Date.now() + 10_000;
  const created = await client.createRoom({
    id: "crash",
    name: "Crash",
    stock,
    startsAt: new Date(startsAt).toISOString(),
    waitingRoom: { prequeueSeconds: 60, releasePerSecond: 300 },
  });
  const commitment = String(created.drawCommitment);

  // The pre-queue, with a kill in the middle of the joins.
  const early = Array.from({ length: 1000 }, (_, i) => `early-${i}`);
  const seen = new Map<string, Set<string>>();
  const answered = new Map<string, number>();
  const remember = (
    u: string,
    answer: { status: number; body: Record<string, unknown>; attempts: number },
  ) => {
    assert.ok(
      answer.status === 202 || answer.status === 200,
      `${u}: ${answer.status} ${JSON.stringify(answer.body)}`,
    );
    const ids = seen.get(u) ?? new Set<string>();
    ids.add(String(answer.body.ticketId));
    seen.set(u, ids);
    answered.set(u, answer.attempts);
  };
  // Each user at a random moment of the next 3 s (40 requests in flight at most).
  const joinFrom = Date.now();
  const at = new Map(early.map((u) => [u, joinFrom + Math.random() * 3000]));
  const joining = pool(
    [...early].sort((a, b) => at.get(a)! - at.get(b)!),
    40,
    async (u) => {
      await sleep(Math.max(0, at.get(u)! - Date.now()));
      remember(u, await client.join("crash", u));
    },
  );
  await sleep(1500);
  const joinedBeforeKill = seen.size;
  await restart();
  await joining;
  const retried = [...answered.values()].filter((n) => n > 1).length;
  assert.equal(
    (await client.campaign("crash"))?.drawCommitment,
    commitment,
    "the commitment survives the kill",
  );

  // Every user joins again: the same ticket, and only one per user.
  await pool(early, 40, async (u) => remember(u, await client.join("crash", u)));
  for (const [u, ids] of seen) assert.equal(ids.size, 1, `${u} holds one ticket: ${[...ids].join(", ")}`);
  const spare = startsAt - Date.now();
  assert.ok(spare > 0, "the pre-queue phase ended before startsAt");
  const ticketOf = (u: string) => [...seen.get(u)!][0]!;

  // The opening, late joiners in a known order, and a kill once the release is under way.
  await sleep(Math.max(0, startsAt - Date.now() + 20));
  const late = Array.from({ length: 200 }, (_, i) => `late-${i}`);
  for (const u of late) remember(u, await client.join("crash", u));
  const seed = String((await client.campaign("crash"))?.drawSeed);
  const line = lineOrder(seed, early, late);
  await ticketUntil(client, "crash", ticketOf(line[400]!), (x) => x.status === "admitted", 30_000);
  const killedAt = Date.now();
  await restart();
  const backAt = Date.now();

  // The release resumes and ends: the first `stock` in line admitted, the rest sold out.
  await ticketUntil(client, "crash", ticketOf(line.at(-1)!), (x) => x.status !== "waiting", 60_000);
  const finals = await readTickets(client, "crash", line.map(ticketOf));
  assert.deepEqual(
    countBy(finals, (f) => f.status),
    { admitted: stock, sold_out: line.length - stock },
  );
  for (const [i, f] of finals.entries()) {
    assert.equal(f.userId, line[i]);
    assert.equal(f.status, i < stock ? "admitted" : "sold_out", `${line[i]} at ${i + 1}`);
    if (f.status === "admitted") assert.equal(f.claimId, f.ticketId, "the claim carries its ticket's id");
  }
  await assertDraw(client, "crash", commitment, early);

  // The ledger: one claim per admitted ticket, handed out in line order across the kill; one ticket per user.
  const rows = await ledgerSettles(
    () => embeddedLedgerRows(dataDir, "crash"),
    (r) => r.length === stock && r.every((x) => x.status === "issued"),
    60_000,
  );
  assert.deepEqual(
    [...rows].sort((a, b) => a.unit - b.unit).map((r) => r.userId),
    line.slice(0, stock),
    "admitted in line order, before and after the kill",
  );
  assert.deepEqual(rows.map((r) => r.claimId).sort(), line.slice(0, stock).map(ticketOf).sort());
  const db = new DatabaseSync(join(dataDir, "ledger.sqlite"), { readOnly: true });
  const inLedger = await (async () => {
    for (;;) {
      const n = (
        db.prepare("SELECT count(*) AS n FROM tickets WHERE campaign_id = 'crash'").get() as { n: number }
      ).n;
      if (n === line.length) return n;
      await sleep(100);
    }
  })();
  db.close();
  assert.equal(inLedger, line.length, "every ticket in the ledger, once");
  t.diagnostic(
    `${joinedBeforeKill} of ${early.length} pre-queue joins answered before the first kill, ${retried} sent again through it ` +
      `(pre-queue phase done ${spare} ms before startsAt); ` +
      `second kill after the 401st admission, down ${backAt - killedAt} ms; ${stock} admitted in line order, ` +
      `${line.length - stock} sold out`,
  );
});
