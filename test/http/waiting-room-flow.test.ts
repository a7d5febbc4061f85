import assert from "node:assert/strict";
import { type TestContext, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { ADMIN_TOKEN, type EmbeddedTestOptions, embeddedApp } from "../helpers/embedded-app.ts";
import { pool } from "../helpers/load.ts";
import { tempDir } from "../helpers/tmp.ts";
import {
  assertDraw,
  assertWatched,
  holdsRelease,
  lineOrder,
  readTickets,
  roomClient,
  ticketUntil,
} from "../helpers/waiting-room.ts";

/**
 * The waiting room over real sockets, in this process (the scenarios of
 * test/helpers/waiting-room.ts at a small scale): event streams, holds
 * letting the next in, a stock raise after a sold-out line, a restart.
 */
const settings = { RELEASE_INTERVAL_MS: 20, HOLD_MIN_SECONDS: 1, HOLD_REAP_INTERVAL_MS: 50 };

async function listening(t: TestContext, options: EmbeddedTestOptions = {}) {
  const opened = await embeddedApp(t, { ...options, settings: { ...settings, ...options.settings } });
  await opened.app.listen({ host: "127.0.0.1", port: 0 });
  const { port } = opened.app.server.address() as { port: number };
  const client = roomClient(`http://127.0.0.1:${port}`, ADMIN_TOKEN);
  t.after(() => client.close());
  return { ...opened, client };
}

const iso = (ms: number) => new Date(ms).toISOString();

test("event streams: positions never grow, the ETA falls, one event a second at most, each ends at admitted or sold_out", async (t) => {
  const { client } = await listening(t);
  const startsAt = Date.now() + 800;
  await client.createRoom({
    id: "sse",
    name: "SSE",
    stock: 24,
    startsAt: iso(startsAt),
    waitingRoom: { prequeueSeconds: 60, releasePerSecond: 8 },
  });
  const users = Array.from({ length: 30 }, (_, i) => `u${i}`);
  const tickets = new Map<string, string>();
  await pool(users, 10, async (u) => tickets.set(u, String((await client.join("sse", u)).body.ticketId)));
  await sleep(startsAt - Date.now() + 10);
  const seed = String((await client.campaign("sse"))?.drawSeed);
  const line = lineOrder(seed, users, []);
  // The 4th, 12th, 20th and 24th stay waiting a while; the 27th ends sold out.
  const watched = [3, 11, 19, 23, 26].map((i) => tickets.get(line[i]!)!);
  const streams = await Promise.all(watched.map((id) => client.watch("sse", id)));
  for (const events of streams) assertWatched(events);
  assert.equal(streams.at(-1)!.at(-1)!.ticket.status, "sold_out");
  assert.equal(streams[3]!.at(-1)!.ticket.status, "admitted");
  const waitingEvents = streams[2]!.filter((e) => e.ticket.status === "waiting");
  assert.ok(waitingEvents.length >= 2, "a ticket that waits hears its line move");
  const etas = waitingEvents.map((e) => e.ticket.etaSeconds);
  assert.ok(etas[0] !== null && etas[0]! > etas.at(-1)!, `the ETA falls: ${etas.join(", ")}`);
  const finals = await readTickets(
    client,
    "sse",
    line.map((u) => tickets.get(u)!),
  );
  assert.deepEqual(
    finals.map((f) => f.status),
    [...Array(24).fill("admitted"), ...Array(6).fill("sold_out")],
  );
});

test("holds: released and expiring holds let the next tickets in, in line order; then the rest is sold out", async (t) => {
  const { client } = await listening(t);
  await holdsRelease(client, { campaignId: "held", users: 18, holdSeconds: 1, log: (m) => t.diagnostic(m) });
});

test("a sold-out line moves again when the stock is raised", async (t) => {
  const { client } = await listening(t);
  const startsAt = Date.now() + 500;
  await client.createRoom({
    id: "raise",
    name: "Raise",
    stock: 2,
    startsAt: iso(startsAt),
    waitingRoom: { prequeueSeconds: 60 },
  });
  const users = ["a", "b", "c", "d"];
  const tickets = new Map<string, string>();
  for (const u of users) tickets.set(u, String((await client.join("raise", u)).body.ticketId));
  await sleep(startsAt - Date.now() + 10);
  const line = lineOrder(String((await client.campaign("raise"))?.drawSeed), users, []);
  const third = tickets.get(line[2]!)!;
  await ticketUntil(client, "raise", third, (x) => x.status === "sold_out");
  assert.equal((await client.join("raise", "e")).status, 410, "nobody joins a sold-out line");
  assert.equal((await client.admin("PATCH", "/v1/campaigns/raise", { stock: 4 })).status, 200);
  const moved = await ticketUntil(client, "raise", third, (x) => x.status === "admitted");
  assert.equal(moved.ticket.claimId, third);
  await ticketUntil(client, "raise", tickets.get(line[3]!)!, (x) => x.status === "admitted");
  assert.equal((await client.join("raise", "e")).status, 410, "sold out again");
});

test("a restart keeps every ticket, the draw and the line: release resumes in order", async (t) => {
  const dataDir = tempDir(t);
  const first = await listening(t, { dataDir });
  const startsAt = Date.now() + 1500;
  const created = await first.client.createRoom({
    id: "again",
    name: "Again",
    stock: 40,
    startsAt: iso(startsAt),
    waitingRoom: { prequeueSeconds: 60, releasePerSecond: 50 },
  });
  const early = Array.from({ length: 20 }, (_, i) => `early-${i}`);
  const tickets = new Map<string, string>();
  await pool(early, 10, async (u) =>
    tickets.set(u, String((await first.client.join("again", u)).body.ticketId)),
  );
  await first.app.close();
  await first.runtime.close();

  const second = await listening(t, { dataDir });
  for (const u of early.slice(0, 5)) {
    const again = await second.client.join("again", u);
    assert.deepEqual(
      [again.status, again.body.ticketId],
      [200, tickets.get(u)],
      "the same ticket after a restart",
    );
  }
  const more = Array.from({ length: 10 }, (_, i) => `early-${20 + i}`);
  await pool(more, 10, async (u) =>
    tickets.set(u, String((await second.client.join("again", u)).body.ticketId)),
  );
  await sleep(startsAt - Date.now() + 10);
  const late = ["late-0", "late-1", "late-2"];
  for (const u of late) tickets.set(u, String((await second.client.join("again", u)).body.ticketId));
  const prequeued = [...early, ...more];
  await assertDraw(second.client, "again", String(created.drawCommitment), prequeued);
  const line = lineOrder(String((await second.client.campaign("again"))?.drawSeed), prequeued, late);

  // Mid-release, a second restart: the line picks up where it was.
  await ticketUntil(second.client, "again", tickets.get(line[5]!)!, (x) => x.status === "admitted");
  await second.app.close();
  await second.runtime.close();
  const third = await listening(t, { dataDir });
  await ticketUntil(third.client, "again", tickets.get(line.at(-1)!)!, (x) => x.status === "admitted");
  const finals = await readTickets(
    third.client,
    "again",
    line.map((u) => tickets.get(u)!),
  );
  assert.ok(finals.every((f) => f.status === "admitted" && f.claimId === f.ticketId));
  const claims = await Promise.all(finals.map((f) => third.runtime.admission.getClaim(f.claimId!)));
  assert.deepEqual(
    claims.map((c) => c?.unit),
    line.map((_, i) => i + 1),
    "units handed out in line order, across both restarts",
  );
  await assertDraw(third.client, "again", String(created.drawCommitment), prequeued);
});
