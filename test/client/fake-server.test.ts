import assert from "node:assert/strict";
import { createHash, createHmac, randomBytes } from "node:crypto";
import { once } from "node:events";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type TestContext, test } from "node:test";
import {
  type Draw,
  drawIndex,
  drawProblems,
  drawValue,
  type RetryInfo,
  StampedeClient,
  type Ticket,
  verifyDraw,
} from "../../src/client/index.ts";

/**
 * The client's calls for Holds and the Waiting room (docs/api.md sections of those
 * names) and its reconnection paths, against a tiny fake server: a real
 * stream cannot be made to drop or fall silent on cue, nor a draw be
 * tampered with. Everything else is tested against a real server
 * (client.test.ts, restart.test.ts; the waiting room's calls through
 * test/helpers/waiting-room.ts in test/http/waiting-room-flow.test.ts).
 */
type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

async function fakeServer(t: TestContext, routes: Record<string, Handler>): Promise<string> {
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      const route = routes[`${req.method} ${req.url}`];
      if (route) return route(req, res, body);
      json(res, 404, { error: "not_found", message: `no fake route ${req.method} ${req.url}` });
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers });
  res.end(JSON.stringify(body));
}

const sse = (res: ServerResponse) =>
  res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" });
const event = (data: unknown, name = "status") => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;

const HELD = {
  claimId: "held-claim-0123456789",
  campaignId: "tickets",
  userId: "alice",
  status: "held",
  admittedAt: "2026-12-04T10:00:00.000Z",
  expiresAt: "2026-12-04T10:05:00.000Z",
};

test("holds: confirm retries a 503 after its Retry-After; hold_expired and already_confirmed are typed", async (t) => {
  let confirms = 0;
  const url = await fakeServer(t, {
    [`POST /v1/claims/${HELD.claimId}/confirm`]: (req, res, body) => {
      assert.equal(body, "", "confirm sends no body");
      assert.equal(req.headers.authorization, "Bearer user-token");
      if (++confirms === 1)
        return json(res, 503, { error: "unavailable", message: "busy" }, { "retry-after": "1" });
      json(res, 200, {
        ...HELD,
        status: "issued",
        couponCode: "C0UP0N-XYZ",
        issuedAt: "2026-12-04T10:01:00Z",
      });
    },
    "POST /v1/claims/expired-claim-0123456/confirm": (_req, res) =>
      json(res, 410, { error: "hold_expired", message: "The hold expired." }),
    [`POST /v1/claims/${HELD.claimId}/release`]: (_req, res) =>
      json(res, 409, { error: "already_confirmed", message: "confirmed already" }),
    "POST /v1/claims/other-claim-01234567/release": (_req, res) =>
      json(res, 200, { ...HELD, claimId: "other-claim-01234567", status: "released" }),
  });
  const client = new StampedeClient({ baseUrl: url, token: "user-token" });
  const retries: RetryInfo[] = [];
  const started = Date.now();
  const confirmed = await client.confirm(HELD.claimId, { onRetry: (info) => retries.push(info) });
  assert.ok(confirmed.ok, JSON.stringify(confirmed));
  assert.equal(confirmed.claim.status, "issued");
  assert.equal(confirmed.claim.couponCode, "C0UP0N-XYZ");
  assert.equal(retries[0]?.error.code, "unavailable");
  assert.ok(Date.now() - started >= 1000, "waited the Retry-After");

  const expired = await client.confirm("expired-claim-0123456");
  assert.ok(!expired.ok && expired.error.code === "hold_expired" && expired.error.status === 410);
  const late = await client.release(HELD.claimId);
  assert.ok(!late.ok && late.error.code === "already_confirmed");
  const released = await client.release("other-claim-01234567");
  assert.ok(released.ok && released.claim.status === "released");
});

test("waiting room: joinQueue (202 new, 200 the same ticket), getTicket, watchTicket across a dropped stream", async (t) => {
  const ticket: Ticket = {
    ticketId: "ticket-0123456789abcdef",
    campaignId: "concert",
    userId: "alice",
    status: "waiting",
    position: 3,
    ahead: 2,
    remaining: 10,
    etaSeconds: 2,
  };
  const joined = new Set<string>();
  let connections = 0;
  const url = await fakeServer(t, {
    "POST /v1/campaigns/concert/queue": (_req, res, body) => {
      const { userId } = JSON.parse(body) as { userId: string };
      const status = joined.has(userId) ? 200 : 202;
      joined.add(userId);
      json(res, status, { ...ticket, userId });
    },
    [`GET /v1/campaigns/concert/queue/${ticket.ticketId}`]: (_req, res) => json(res, 200, ticket),
    [`GET /v1/campaigns/concert/queue/${ticket.ticketId}/events`]: (req, res) => {
      assert.equal(req.headers.accept, "text/event-stream");
      sse(res);
      if (++connections === 1) {
        res.write(event(ticket));
        res.write(`: heartbeat\n\n${event({ ...ticket, position: 2, ahead: 1 })}`);
        setTimeout(() => res.destroy(), 20); // the connection drops mid-line
        return;
      }
      res.write(event({ ...ticket, position: 2, ahead: 1 })); // the current state again: not yielded twice
      res.end(
        event({ ...ticket, status: "admitted", position: 0, ahead: 0, claimId: "claim-from-ticket-01" }),
      );
    },
    "POST /v1/campaigns/early/queue": (_req, res) =>
      json(res, 403, { error: "campaign_not_active", message: "not yet", reason: "not_started" }),
  });
  const client = new StampedeClient({ baseUrl: url });
  const first = await client.joinQueue("concert", "alice");
  assert.ok(first.ok && first.created && first.ticket.ticketId === ticket.ticketId);
  const again = await client.joinQueue("concert", "alice");
  assert.ok(again.ok && !again.created && again.ticket.ticketId === ticket.ticketId);
  const early = await client.joinQueue("early", "alice");
  assert.ok(
    !early.ok && early.error.code === "campaign_not_active" && early.error.body.reason === "not_started",
  );
  assert.equal((await client.getTicket("concert", ticket.ticketId)).position, 3);

  const reconnects: RetryInfo[] = [];
  const seen: Ticket[] = [];
  for await (const state of client.watchTicket("concert", ticket.ticketId, {
    onReconnect: (info) => reconnects.push(info),
  }))
    seen.push(state);
  assert.deepEqual(
    seen.map((s) => [s.status, s.position]),
    [
      ["waiting", 3],
      ["waiting", 2],
      ["admitted", 0],
    ],
  );
  assert.equal(seen.at(-1)?.claimId, "claim-from-ticket-01");
  assert.equal(connections, 2);
  assert.equal(reconnects.length, 1);
  assert.equal(reconnects[0]?.error.code, "network_error");
});

test("watch reconnects after a 503 (its Retry-After) and a silent connection (idle timeout); 404 rejects; break closes", async (t) => {
  let connections = 0;
  let leftOpen: ServerResponse | undefined;
  const url = await fakeServer(t, {
    [`GET /v1/claims/${HELD.claimId}/events`]: (_req, res) => {
      connections++;
      if (connections === 1)
        return json(res, 503, { error: "unavailable", message: "x" }, { "retry-after": "0" });
      sse(res);
      if (connections === 2) return; // headers, then silence
      res.write("retry: 10\n\n");
      res.write(event(HELD));
      if (connections === 3) res.end(event({ ...HELD, status: "expired" }));
      else leftOpen = res;
    },
  });
  const client = new StampedeClient({ baseUrl: url });
  const reconnects: string[] = [];
  const statuses: string[] = [];
  for await (const claim of client.watch(HELD.claimId, {
    idleTimeoutMs: 200,
    onReconnect: (info) => reconnects.push(info.error.code),
  }))
    statuses.push(claim.status);
  assert.deepEqual(statuses, ["held", "expired"], "a hold's stream ends at expired");
  assert.deepEqual(reconnects, ["unavailable", "timeout"]);

  await assert.rejects(client.watch("missing-claim-0123456").next(), { code: "not_found" });
  // Leaving the loop early closes the connection.
  for await (const claim of client.watch(HELD.claimId)) {
    assert.equal(claim.status, "held");
    break;
  }
  assert.ok(leftOpen, "the fourth connection stays open on the server's side");
  if (!leftOpen.destroyed) await once(leftOpen, "close");
});

test("draw: verifyDraw checks the commitment and the order; drawValue is the user's HMAC", async (t) => {
  const seed = randomBytes(32);
  const users = ["alice", "bob", "carol", "dave"];
  const hmac = (user: string) => createHmac("sha256", seed).update(user, "utf8").digest("hex");
  const draw: Draw = {
    drawCommitment: createHash("sha256").update(seed).digest("hex"),
    drawSeed: seed.toString("hex"),
    prequeued: users.length,
    order: users.map(hmac).sort(),
  };
  const url = await fakeServer(t, { "GET /v1/campaigns/concert/draw": (_req, res) => json(res, 200, draw) });
  const fetched = await new StampedeClient({ baseUrl: url }).draw("concert");
  assert.equal(await verifyDraw(fetched), true);
  assert.equal(await drawValue(fetched.drawSeed, "carol"), hmac("carol"));
  assert.equal(
    await verifyDraw({ ...fetched, drawSeed: randomBytes(32).toString("hex") }),
    false,
    "another seed",
  );
  assert.equal(await verifyDraw({ ...fetched, order: [...fetched.order].reverse() }), false, "another order");
  assert.equal(await verifyDraw({ ...fetched, prequeued: 5 }), false, "a ticket left out");
  const [a, b, c] = fetched.order as [string, string, string];
  assert.equal(await verifyDraw({ ...fetched, order: [a, a, b, c] }), false, "a value twice");
  assert.equal(await verifyDraw({ ...fetched, order: [a, b, c, "f".repeat(63)] }), false, "not 32 bytes");
  assert.equal(await verifyDraw({ ...fetched, drawSeed: fetched.drawSeed.slice(2) }), false, "a short seed");
  assert.deepEqual(await drawProblems(fetched), []);
  assert.equal(drawIndex(fetched.order, hmac("carol")), fetched.order.indexOf(hmac("carol")));
  assert.equal(drawIndex(fetched.order, "0".repeat(64)), -1);
});

test("answers outside the contract: a proxy's 502 is retried as unavailable, an HTML 404 is unexpected_response", async (t) => {
  let gateway = 0;
  const url = await fakeServer(t, {
    "GET /v1/campaigns/behind-proxy": (_req, res) => {
      if (++gateway === 1) {
        res.writeHead(502, { "content-type": "text/html" });
        return res.end("<html>bad gateway</html>");
      }
      json(res, 200, { id: "behind-proxy", serverTime: new Date().toISOString() });
    },
    "GET /v1/campaigns/html": (_req, res) => {
      res.writeHead(404, { "content-type": "text/html" });
      res.end("<html>not here</html>");
    },
  });
  const client = new StampedeClient({ baseUrl: `${url}/` });
  assert.equal((await client.getCampaign("behind-proxy")).id, "behind-proxy");
  assert.equal(gateway, 2);
  await assert.rejects(client.getCampaign("html"), { code: "unexpected_response", status: 404 });
  await assert.rejects(
    new StampedeClient({ baseUrl: "http://127.0.0.1:1" }).getCampaign("x", { deadlineMs: 500 }),
    {
      code: "network_error",
    },
  );
  const aborted = new AbortController();
  aborted.abort(new Error("left the page"));
  await assert.rejects(client.claim("behind-proxy", "alice", { signal: aborted.signal }), /left the page/);
});
