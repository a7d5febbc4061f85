import assert from "node:assert/strict";
import { createHash, createHmac, randomBytes } from "node:crypto";
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { type TestContext, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { runCli } from "../helpers/cli.ts";
import { ADMIN_TOKEN, embeddedApp } from "../helpers/embedded-app.ts";
import { roomClient } from "../helpers/waiting-room.ts";

/**
 * `stampede verify-draw` (docs/api.md "The draw"): it passes against a real
 * server's draw, and fails (exit 1) against a server that tampered with it:
 * another order, a seed that is not the one committed to, a commitment that
 * is not the campaign's, a value left out.
 */
test("verify-draw passes on a real server's draw, with a user's place and ticket", async (t) => {
  const { app } = await embeddedApp(t, { settings: { RELEASE_INTERVAL_MS: 20 } });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const client = roomClient(url, ADMIN_TOKEN);
  t.after(() => client.close());
  // Long enough for a CLI process to start and ask before it, on a busy machine.
  const startsAt = Date.now() + 4000;
  await client.createRoom({
    id: "fair",
    name: "Fair",
    stock: 3,
    startsAt: new Date(startsAt).toISOString(),
    waitingRoom: { prequeueSeconds: 60, releasePerSecond: 1 },
  });
  const tickets = new Map<string, string>();
  for (const u of ["alice", "bob", "carol", "dave", "erin", "frank"])
    tickets.set(u, String((await client.join("fair", u)).body.ticketId));

  const early = await runCli(["verify-draw", url, "fair"]);
  assert.equal(early.status, 1, "no draw before startsAt");
  assert.match(early.stderr, /campaign_not_active/);

  await sleep(startsAt - Date.now() + 20);
  const ok = await runCli(["verify-draw", url, "fair", "--user", "carol", "--ticket", tickets.get("carol")!]);
  assert.equal(ok.status, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /ok {3}sha256\(drawSeed\) = drawCommitment/);
  assert.match(ok.stdout, /ok {3}the order lists the 6 pre-queued tickets, strictly ascending/);
  assert.match(ok.stdout, /ok {3}carol: drawValue [0-9a-f]{64} is place \d of 6 in the draw/);
  assert.match(ok.stdout, /ok {3}ticket \S+ shows that drawValue/);
  assert.match(ok.stdout, /draw verified\n$/);

  const stranger = await runCli(["verify-draw", url, "fair", "--user", "mallory"]);
  assert.equal(stranger.status, 1);
  assert.match(stranger.stdout, /FAIL mallory: drawValue [0-9a-f]{64} is not in the draw/);
  const wrongTicket = await runCli([
    "verify-draw",
    url,
    "fair",
    "--user",
    "carol",
    "--ticket",
    tickets.get("dave")!,
  ]);
  assert.equal(wrongTicket.status, 1);
  assert.match(wrongTicket.stdout, /FAIL ticket \S+ is not carol's: it names dave/);
});

/** A fake stampede serving a campaign and a draw as given. */
async function fakeServer(t: TestContext, campaign: Record<string, unknown>, draw: Record<string, unknown>) {
  const server = createServer((req, res) => {
    const body =
      req.url === "/v1/campaigns/fair" ? campaign : req.url === "/v1/campaigns/fair/draw" ? draw : undefined;
    res.writeHead(body ? 200 : 404, { "content-type": "application/json" });
    res.end(JSON.stringify(body ?? { error: "not_found", message: "no" }));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  t.after(() => server.close());
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

test("verify-draw fails on a tampered draw", async (t) => {
  const seed = randomBytes(32);
  const commitment = createHash("sha256").update(seed).digest("hex");
  const users = ["alice", "bob", "carol", "dave", "erin"];
  const hmac = (key: Buffer, u: string) => createHmac("sha256", key).update(u).digest("hex");
  const order = users.map((u) => hmac(seed, u)).sort();
  const campaign = {
    id: "fair",
    name: "Fair",
    stock: 3,
    perUserLimit: 1,
    startsAt: "2030-01-01T00:00:00.000Z",
    endsAt: null,
    createdAt: "2029-12-31T00:00:00.000Z",
    issued: 0,
    pending: 0,
    remaining: 3,
    serverTime: "2030-01-01T00:00:01.000Z",
    waitingRoom: { prequeueSeconds: 60 },
    drawCommitment: commitment,
    drawSeed: seed.toString("hex"),
  };
  const honest = { drawCommitment: commitment, drawSeed: seed.toString("hex"), prequeued: 5, order };
  const run = async (draw: Record<string, unknown>, extra: string[] = [], shown = campaign) =>
    runCli(["verify-draw", await fakeServer(t, shown, draw), "fair", ...extra]);

  const fine = await run(honest, ["--user", "bob"]);
  assert.equal(fine.status, 0, fine.stdout + fine.stderr);

  const other = randomBytes(32);
  const cases: [string, Record<string, unknown>, RegExp, typeof campaign?][] = [
    [
      "another order",
      { ...honest, order: [order[1], order[0], ...order.slice(2)] },
      /FAIL order is not strictly ascending at 1/,
    ],
    [
      "a value left out",
      { ...honest, order: order.slice(1) },
      /FAIL order lists 4 values for a pre-queue of 5/,
    ],
    [
      "a value twice",
      { ...honest, order: [order[0], ...order.slice(0, 4)] },
      /FAIL order is not strictly ascending/,
    ],
    [
      "a seed not committed to",
      { ...honest, drawSeed: other.toString("hex"), order: users.map((u) => hmac(other, u)).sort() },
      /FAIL sha256\(drawSeed\) = [0-9a-f]{64}, not the commitment/,
    ],
    [
      "a commitment that is not the campaign's",
      {
        ...honest,
        drawCommitment: createHash("sha256").update(other).digest("hex"),
        drawSeed: other.toString("hex"),
      },
      /FAIL the draw states the campaign's commitment/,
      campaign,
    ],
  ];
  for (const [what, draw, expected, shown] of cases) {
    const result = await run(draw, [], shown);
    assert.equal(result.status, 1, `${what}: ${result.stdout}`);
    assert.match(result.stdout, expected, what);
    assert.match(result.stdout, /draw NOT verified/);
  }
  // A user left out of an otherwise consistent draw (the server dropped them).
  const without = users
    .filter((u) => u !== "carol")
    .map((u) => hmac(seed, u))
    .sort();
  const dropped = await run({ ...honest, prequeued: 4, order: without }, ["--user", "carol"]);
  assert.equal(dropped.status, 1);
  assert.match(dropped.stdout, /FAIL carol: drawValue [0-9a-f]{64} is not in the draw/);
});

test("verify-draw: bad usage is exit status 2; --help", async () => {
  for (const args of [
    [],
    ["http://x"],
    ["not-a-url", "c"],
    ["http://x", "c", "--ticket", "t"],
    ["http://x", "c", "--user"],
  ]) {
    const result = await runCli(["verify-draw", ...args]);
    assert.equal(result.status, 2, JSON.stringify(args));
    assert.match(result.stderr, /^stampede verify-draw: /);
  }
  const help = await runCli(["verify-draw", "--help"]);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /Usage: stampede verify-draw <base-url> <campaign>/);
});
