import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { admin, createCampaign, embeddedApp } from "../../helpers/embedded-app.ts";
import { eventually } from "../../helpers/wait.ts";

const json = { "content-type": "application/json" };
const claim = (id: string, userId: string) => ({
  method: "POST" as const,
  url: `/v1/campaigns/${id}/claims`,
  headers: json,
  payload: { userId },
});
const patch = (id: string, payload: unknown, headers: Record<string, string> = {}) => ({
  method: "PATCH" as const,
  url: `/v1/campaigns/${id}`,
  headers: { ...admin, ...json, ...headers },
  payload: payload as Record<string, unknown>,
});

describe("lifecycle", () => {
  test("pause answers 403 campaign_not_active (reason paused), resume admits again", async (t) => {
    const { app } = await embeddedApp(t);
    await createCampaign(app, { id: "p", name: "P", stock: 10 });
    assert.equal((await app.inject(claim("p", "a"))).statusCode, 202);

    const paused = await app.inject(patch("p", { status: "paused" }));
    assert.equal(paused.statusCode, 200);
    assert.equal(paused.json().status, "paused");
    const refused = await app.inject(claim("p", "b"));
    assert.equal(refused.statusCode, 403);
    assert.deepEqual(
      { error: refused.json().error, reason: refused.json().reason },
      { error: "campaign_not_active", reason: "paused" },
    );
    // A holder still learns their claim while paused (409 comes before 403).
    assert.equal((await app.inject(claim("p", "a"))).statusCode, 409);
    assert.equal((await app.inject({ method: "GET", url: "/v1/campaigns/p" })).json().status, "paused");

    const resumed = await app.inject(patch("p", { status: "open" }));
    assert.equal(resumed.json().status, "open");
    assert.equal((await app.inject(claim("p", "b"))).statusCode, 202);
  });

  test("stock goes up at any time and down to what is admitted, never below (400 with admitted)", async (t) => {
    const { app } = await embeddedApp(t);
    await createCampaign(app, { id: "s", name: "S", stock: 2 });
    for (const u of ["a", "b"]) assert.equal((await app.inject(claim("s", u))).statusCode, 202);
    assert.equal((await app.inject(claim("s", "c"))).statusCode, 410);

    const below = await app.inject(patch("s", { stock: 1 }));
    assert.equal(below.statusCode, 400);
    assert.deepEqual(
      { error: below.json().error, admitted: below.json().admitted },
      { error: "invalid_request", admitted: 2 },
    );
    assert.match(below.json().message, /below the 2 units already admitted/);

    const raised = await app.inject(patch("s", { stock: 3 }));
    assert.equal(raised.statusCode, 200);
    assert.deepEqual([raised.json().stock, raised.json().remaining], [3, 1]);
    assert.equal((await app.inject(claim("s", "c"))).statusCode, 202);
    assert.equal((await app.inject(claim("s", "d"))).statusCode, 410);
    // Down to exactly what is admitted is allowed.
    assert.equal((await app.inject(patch("s", { stock: 3 }))).statusCode, 200);
  });

  test("endsAt: shorten ends the campaign, extend reopens it, null removes the end", async (t) => {
    const { app } = await embeddedApp(t);
    await createCampaign(app, {
      id: "e",
      name: "E",
      stock: 10,
      startsAt: "2020-01-01T00:00:00Z",
      endsAt: "2999-01-01T00:00:00Z",
    });
    const past = await app.inject(patch("e", { endsAt: "2021-01-01T00:00:00Z" }));
    assert.equal(past.json().endsAt, "2021-01-01T00:00:00.000Z");
    const ended = await app.inject(claim("e", "a"));
    assert.deepEqual([ended.statusCode, ended.json().reason], [403, "ended"]);

    assert.equal((await app.inject(patch("e", { endsAt: "2999-06-01T00:00:00Z" }))).statusCode, 200);
    assert.equal((await app.inject(claim("e", "a"))).statusCode, 202);
    const open = await app.inject(patch("e", { endsAt: null }));
    assert.equal(open.json().endsAt, null);

    const beforeStart = await app.inject(patch("e", { endsAt: "2019-01-01T00:00:00Z" }));
    assert.equal(beforeStart.statusCode, 400);
    assert.equal(beforeStart.json().error, "invalid_request");
  });

  test("close ends it for good: 403 reason closed, pending claims still issued, no change after", async (t) => {
    const { app, runtime } = await embeddedApp(t);
    await createCampaign(app, { id: "c", name: "C", stock: 10 });
    const first = await app.inject(claim("c", "a"));
    assert.equal(first.statusCode, 202);
    const closed = await app.inject({ method: "POST", url: "/v1/campaigns/c/close", headers: admin });
    assert.equal(closed.statusCode, 200);
    assert.equal(closed.json().status, "closed");
    const refused = await app.inject(claim("c", "b"));
    assert.deepEqual([refused.statusCode, refused.json().reason], [403, "closed"]);

    const reopen = await app.inject(patch("c", { status: "open" }));
    assert.deepEqual(
      [reopen.statusCode, reopen.json().error, reopen.json().reason],
      [403, "campaign_not_active", "closed"],
    );
    const again = await app.inject({ method: "POST", url: "/v1/campaigns/c/close", headers: admin });
    assert.equal(again.statusCode, 200, "closing twice answers the campaign");
    await eventually(async () => (await runtime.ledger.issuedCount("c")) === 1);
  });

  test("bad input: unknown fields, closed via PATCH, empty body, bad X-Actor, unknown campaign, no token", async (t) => {
    const { app } = await embeddedApp(t);
    await createCampaign(app, { id: "b", name: "B", stock: 1 });
    for (const payload of [{}, { stock: 0 }, { status: "closed" }, { name: "x" }, { endsAt: "tomorrow" }]) {
      const res = await app.inject(patch("b", payload));
      assert.equal(res.statusCode, 400, JSON.stringify(payload));
      assert.equal(res.json().error, "invalid_request");
    }
    const badActor = await app.inject(patch("b", { stock: 2 }, { "x-actor": "a\u0007b" }));
    assert.equal(badActor.statusCode, 400);
    assert.equal((await app.inject(patch("nope", { stock: 2 }))).json().error, "campaign_not_found");
    assert.equal(
      (await app.inject({ method: "PATCH", url: "/v1/campaigns/b", headers: json, payload: { stock: 2 } }))
        .statusCode,
      401,
    );
    assert.equal(
      (await app.inject({ method: "POST", url: "/v1/campaigns/nope/close", headers: admin })).statusCode,
      404,
    );
  });

  test("every change is in the audit trail with actor, request id, client address and time", async (t) => {
    const { app } = await embeddedApp(t);
    await createCampaign(app, { id: "a", name: "A", stock: 5 });
    const before = Date.now();
    await app.inject(
      patch("a", { status: "paused" }, { "x-actor": "ops@example.com", "x-request-id": "req-1" }),
    );
    await app.inject(patch("a", { stock: 7, status: "open" }));
    await app.inject({
      method: "POST",
      url: "/v1/campaigns/a/close",
      headers: { ...admin, "x-actor": "bob" },
    });

    const res = await app.inject({ method: "GET", url: "/v1/campaigns/a/audit", headers: admin });
    assert.equal(res.statusCode, 200);
    const { entries, next } = res.json() as {
      entries: {
        id: number;
        at: string;
        actor: string;
        requestId: string;
        clientIp: string;
        action: string;
        details: { changes: Record<string, unknown>; revision: number };
      }[];
      next: string | null;
    };
    assert.equal(next, null);
    assert.deepEqual(
      entries.map((e) => [e.action, e.actor, e.details.changes, e.details.revision]),
      [
        ["update", "ops@example.com", { status: { from: "open", to: "paused" } }, 1],
        ["update", "admin", { status: { from: "paused", to: "open" }, stock: { from: 5, to: 7 } }, 2],
        [
          "close",
          "bob",
          { status: { from: "open", to: "closed" }, endsAt: entries[2]!.details.changes.endsAt },
          3,
        ],
      ],
    );
    // Closing ends the campaign at that instant.
    const closedAt = (entries[2]!.details.changes as { endsAt: { from: null; to: string } }).endsAt;
    assert.deepEqual([closedAt.from, closedAt.to], [null, entries[2]!.at]);
    assert.equal(entries[0]!.requestId, "req-1");
    assert.equal(entries[0]!.clientIp, "127.0.0.1");
    assert.ok(Date.parse(entries[0]!.at) >= before - 1000 && Date.parse(entries[2]!.at) <= Date.now() + 1000);

    const page = await app.inject({ method: "GET", url: "/v1/campaigns/a/audit?limit=2", headers: admin });
    assert.equal(page.json().entries.length, 2);
    const rest = await app.inject({
      method: "GET",
      url: `/v1/campaigns/a/audit?after=${page.json().next}`,
      headers: admin,
    });
    assert.deepEqual(
      rest.json().entries.map((e: { action: string }) => e.action),
      ["close"],
    );
  });

  test("status, stock and endsAt survive a restart (the ledger keeps the newest revision)", async (t) => {
    const first = await embeddedApp(t);
    await createCampaign(first.app, { id: "r", name: "R", stock: 5 });
    await first.app.inject(patch("r", { stock: 9, endsAt: "2999-01-01T00:00:00Z" }));
    await first.app.inject(patch("r", { status: "paused" }));
    // A late write of an older revision must not win.
    const campaign = (await first.runtime.ledger.getCampaign("r"))!;
    await first.runtime.ledger.lifecycle.recordCampaignChange(
      { ...campaign, stock: 6, status: "open", revision: 1 },
      {
        campaignId: "r",
        at: Date.now(),
        actor: "late",
        requestId: "x",
        clientIp: "",
        action: "update",
        details: {},
      },
    );
    await first.app.close();
    await first.runtime.close();

    const second = await embeddedApp(t, { dataDir: first.dataDir });
    const read = (await second.app.inject({ method: "GET", url: "/v1/campaigns/r" })).json();
    assert.deepEqual([read.status, read.stock, read.endsAt], ["paused", 9, "2999-01-01T00:00:00.000Z"]);
    assert.equal((await second.app.inject(claim("r", "a"))).json().reason, "paused");
  });
});
