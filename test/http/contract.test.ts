import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseRate } from "../../src/domain/rate-policy.ts";
import { admin, assertError, createCampaign, embeddedApp } from "../helpers/embedded-app.ts";
import { eventually } from "../helpers/wait.ts";

const json = { "content-type": "application/json" };
const claim = (id: string, userId: string, headers: Record<string, string> = {}) => ({
  method: "POST" as const,
  url: `/v1/campaigns/${id}/claims`,
  headers: { ...json, ...headers },
  payload: { userId },
});

describe("campaigns", () => {
  test("create, read, list", async (t) => {
    const { app } = await embeddedApp(t);
    const created = await app.inject({
      method: "POST",
      url: "/v1/campaigns",
      headers: admin,
      payload: { id: "drop-1", name: "Drop", stock: 5, perUserLimit: 2, startsAt: "2020-01-01T00:00:00Z" },
    });
    assert.equal(created.statusCode, 201);
    const body = created.json();
    assert.deepEqual(
      { ...body, createdAt: undefined, serverTime: undefined },
      {
        id: "drop-1",
        name: "Drop",
        stock: 5,
        perUserLimit: 2,
        startsAt: "2020-01-01T00:00:00.000Z",
        endsAt: null,
        createdAt: undefined,
        status: "open",
        issued: 0,
        pending: 0,
        remaining: 5,
        serverTime: undefined,
      },
    );
    const read = await app.inject({ method: "GET", url: "/v1/campaigns/drop-1" });
    assert.equal(read.statusCode, 200);
    assert.equal(read.json().remaining, 5);
    assert.ok(Math.abs(Date.parse(read.json().serverTime) - Date.now()) < 5000);

    const list = await app.inject({ method: "GET", url: "/v1/campaigns", headers: admin });
    assert.equal(list.statusCode, 200);
    assert.deepEqual(
      list.json().campaigns.map((c: { id: string }) => c.id),
      ["drop-1"],
    );
  });

  test("a generated id, and 409 campaign_exists for a taken one", async (t) => {
    const { app } = await embeddedApp(t);
    const a = await createCampaign(app, { name: "A", stock: 1 });
    assert.match(a.id, /^[A-Za-z0-9_-]{1,64}$/);
    const again = await app.inject({
      method: "POST",
      url: "/v1/campaigns",
      headers: admin,
      payload: { id: a.id, name: "B", stock: 1 },
    });
    assertError(again, 409, "campaign_exists");
  });

  test("400 invalid_request for out-of-range or unknown fields", async (t) => {
    const { app } = await embeddedApp(t);
    for (const payload of [
      { name: "x", stock: 0 },
      { name: "x", stock: 1_000_000_001 },
      { name: "", stock: 1 },
      { name: "x".repeat(201), stock: 1 },
      { name: "x", stock: 1, perUserLimit: 1001 },
      { name: "x", stock: 1.5 },
      { name: "x", stock: "10" },
      { name: "x", stock: 1, id: "bad id!" },
      { name: "x", stock: 1, colour: "red" },
      { name: "x", stock: 1, startsAt: "tomorrow" },
      { name: "x", stock: 1, startsAt: "2030-01-02T00:00:00Z", endsAt: "2030-01-01T00:00:00Z" },
    ]) {
      const res = await app.inject({ method: "POST", url: "/v1/campaigns", headers: admin, payload });
      assertError(res, 400, "invalid_request");
    }
  });

  test("admin routes need the admin token", async (t) => {
    const { app } = await embeddedApp(t);
    for (const authorization of [undefined, "Bearer wrong-token", "Basic abc", "Bearer"]) {
      const headers = authorization ? { authorization } : {};
      assertError(await app.inject({ method: "GET", url: "/v1/campaigns", headers }), 401, "unauthorized");
      assertError(
        await app.inject({ method: "POST", url: "/v1/campaigns", headers, payload: { name: "x", stock: 1 } }),
        401,
        "unauthorized",
      );
      assertError(
        await app.inject({ method: "GET", url: "/v1/campaigns/x/users/u/claims", headers }),
        401,
        "unauthorized",
      );
    }
  });

  test("404 campaign_not_found", async (t) => {
    const { app } = await embeddedApp(t);
    assertError(await app.inject({ method: "GET", url: "/v1/campaigns/nope" }), 404, "campaign_not_found");
    assertError(await app.inject(claim("nope", "u1")), 404, "campaign_not_found");
  });
});

describe("claims", () => {
  test("202, then issued with a coupon code, readable by id and by user", async (t) => {
    const { app } = await embeddedApp(t);
    await createCampaign(app, { id: "c", name: "C", stock: 3 });
    const res = await app.inject(claim("c", "alice"));
    assert.equal(res.statusCode, 202);
    const body = res.json();
    assert.equal(body.status, "pending");
    assert.equal(body.campaignId, "c");
    assert.equal(body.userId, "alice");
    assert.match(body.claimId, /^[A-Za-z0-9_-]{22}$/, "128 random bits, base64url");
    assert.ok(Number.isFinite(Date.parse(body.admittedAt)));
    assert.equal(body.couponCode, undefined, "no code before issued");

    let issued: Record<string, string> = {};
    await eventually(async () => {
      issued = (await app.inject({ method: "GET", url: `/v1/claims/${body.claimId}` })).json();
      return issued.status === "issued";
    });
    assert.match(issued.couponCode!, /^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/);
    assert.ok(Date.parse(issued.issuedAt!) >= Date.parse(issued.admittedAt!));

    const mine = await app.inject({
      method: "GET",
      url: "/v1/campaigns/c/users/alice/claims",
      headers: admin,
    });
    assert.equal(mine.statusCode, 200);
    assert.deepEqual(mine.json().claims, [issued]);

    const campaign = (await app.inject({ method: "GET", url: "/v1/campaigns/c" })).json();
    assert.deepEqual([campaign.issued, campaign.pending, campaign.remaining], [1, 0, 2]);
  });

  test("409 already_claimed names the claim; perUserLimit allows that many", async (t) => {
    const { app } = await embeddedApp(t);
    await createCampaign(app, { id: "c", name: "C", stock: 10, perUserLimit: 2 });
    const first = (await app.inject(claim("c", "bob"))).json();
    const second = (await app.inject(claim("c", "bob"))).json();
    assert.notEqual(first.claimId, second.claimId);
    const third = await app.inject(claim("c", "bob"));
    assertError(third, 409, "already_claimed");
    assert.equal(third.json().claimId, second.claimId, "names the most recent claim");
    assert.match(third.json().status, /^(pending|issued)$/);
  });

  test("403 campaign_not_active before startsAt and after endsAt; 409 still wins for holders", async (t) => {
    const { app } = await embeddedApp(t);
    const hour = 3600_000;
    await createCampaign(app, {
      id: "future",
      name: "F",
      stock: 1,
      startsAt: new Date(Date.now() + hour).toISOString(),
    });
    const early = await app.inject(claim("future", "u"));
    assertError(early, 403, "campaign_not_active");
    assert.equal(early.json().reason, "not_started");

    await createCampaign(app, {
      id: "past",
      name: "P",
      stock: 1,
      startsAt: new Date(Date.now() - 2 * hour).toISOString(),
      endsAt: new Date(Date.now() - hour).toISOString(),
    });
    assertError(await app.inject(claim("past", "u")), 403, "campaign_not_active");
  });

  test("410 sold_out once every unit is held, 409 for holders after that", async (t) => {
    const { app } = await embeddedApp(t);
    await createCampaign(app, { id: "c", name: "C", stock: 2 });
    assert.equal((await app.inject(claim("c", "a"))).statusCode, 202);
    assert.equal((await app.inject(claim("c", "b"))).statusCode, 202);
    assertError(await app.inject(claim("c", "c")), 410, "sold_out");
    assertError(await app.inject(claim("c", "a")), 409, "already_claimed");
  });

  test("Idempotency-Key: a repeat answers what the first was answered and makes no second claim", async (t) => {
    const { app } = await embeddedApp(t);
    await createCampaign(app, { id: "c", name: "C", stock: 2, perUserLimit: 5 });
    const key = { "idempotency-key": "k-123" };
    const [a, b] = await Promise.all([app.inject(claim("c", "u", key)), app.inject(claim("c", "u", key))]);
    assert.equal(a.statusCode, 202);
    assert.equal(b.statusCode, 202);
    assert.equal(a.json().claimId, b.json().claimId);
    // Another key for the same user makes a second claim (perUserLimit 5) ...
    assert.equal((await app.inject(claim("c", "u", { "idempotency-key": "k-456" }))).statusCode, 202);
    // ... and the stock is gone, yet the first key still replays its 202.
    assertError(await app.inject(claim("c", "v")), 410, "sold_out");
    const replay = await app.inject(claim("c", "u", key));
    assert.equal(replay.statusCode, 202);
    assert.equal(replay.json().claimId, a.json().claimId);
    // A 410 is replayed too.
    const k410 = { "idempotency-key": "k-410" };
    assertError(await app.inject(claim("c", "w", k410)), 410, "sold_out");
    assertError(await app.inject(claim("c", "w", k410)), 410, "sold_out");
    const campaign = (await app.inject({ method: "GET", url: "/v1/campaigns/c" })).json();
    assert.equal(campaign.remaining, 0);
    assert.equal(campaign.issued + campaign.pending, 2);
  });

  test("404 claim_not_found and 400 for a malformed claim id", async (t) => {
    const { app } = await embeddedApp(t);
    assertError(
      await app.inject({ method: "GET", url: "/v1/claims/AAAAAAAAAAAAAAAAAAAAAA" }),
      404,
      "claim_not_found",
    );
    assertError(await app.inject({ method: "GET", url: "/v1/claims/a%20b" }), 400, "invalid_request");
  });

  test("503 unavailable, never 404, for a claim only a failing ledger could answer for", async (t) => {
    const { app, runtime } = await embeddedApp(t);
    runtime.ledger.findClaim = async () => Promise.reject(new Error("disk unreadable"));
    for (const url of ["/v1/claims/AAAAAAAAAAAAAAAAAAAAAA", "/v1/claims/AAAAAAAAAAAAAAAAAAAAAA/events"]) {
      const res = await app.inject({ method: "GET", url });
      assertError(res, 503, "unavailable");
      assert.equal(res.headers["retry-after"], "1");
    }
  });

  test("429 rate_limited with Retry-After comes after 404 and before 409", async (t) => {
    const { app, runtime } = await embeddedApp(t, {
      rateLimit: { user: parseRate("1000/s", "RATE_LIMIT_USER") },
    });
    runtime.rateLimiter!.check = async (_campaignId, userId) => (userId === "hammer" ? 3 : undefined);
    await createCampaign(app, { id: "c", name: "C", stock: 1 });
    assertError(await app.inject(claim("nope", "hammer")), 404, "campaign_not_found");
    const limited = await app.inject(claim("c", "hammer"));
    assertError(limited, 429, "rate_limited");
    assert.equal(limited.headers["retry-after"], "3");
  });

  test("503 unavailable with Retry-After when admission does not answer in time", async (t) => {
    const { app, runtime } = await embeddedApp(t, { requestTimeoutMs: 150 });
    await createCampaign(app, { id: "c", name: "C", stock: 1 });
    runtime.admission.admit = () => new Promise(() => undefined);
    const res = await app.inject(claim("c", "u"));
    assertError(res, 503, "unavailable");
    assert.equal(res.headers["retry-after"], "1");
  });
});

describe("server-sent events", () => {
  test("the current status at once, then issued, then the stream ends", async (t) => {
    const { app } = await embeddedApp(t);
    await createCampaign(app, { id: "c", name: "C", stock: 1 });
    const address = await app.listen({ port: 0, host: "127.0.0.1" });
    const { claimId } = (await app.inject(claim("c", "u"))).json();
    const res = await fetch(`${address}/v1/claims/${claimId}/events`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type")!, /^text\/event-stream/);
    assert.ok(res.headers.get("x-request-id"));
    const text = await res.text(); // resolves only when the server ends the stream
    const events = [...text.matchAll(/event: status\ndata: (.*)\n\n/g)].map((m) => JSON.parse(m[1]!));
    assert.ok(events.length >= 1);
    assert.equal(events.at(-1).status, "issued");
    assert.equal(events.at(-1).claimId, claimId);
    assert.ok(events.at(-1).couponCode);
  });

  test("heartbeat comments while pending; 404 for an unknown claim", async (t) => {
    const { app, runtime } = await embeddedApp(t, { app: { sseHeartbeatMs: 50 } });
    await createCampaign(app, { id: "c", name: "C", stock: 1 });
    await runtime.worker.stop(); // keep the claim pending
    const address = await app.listen({ port: 0, host: "127.0.0.1" });
    const { claimId } = (await app.inject(claim("c", "u"))).json();
    const controller = new AbortController();
    const res = await fetch(`${address}/v1/claims/${claimId}/events`, { signal: controller.signal });
    const reader = res.body!.getReader();
    let text = "";
    while (!text.includes(": heartbeat")) text += new TextDecoder().decode((await reader.read()).value);
    assert.match(text, /"status":"pending"/);
    controller.abort();
    const missing = await fetch(`${address}/v1/claims/AAAAAAAAAAAAAAAAAAAAAA/events`);
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { error: string }).error, "claim_not_found");
  });
});

describe("operations and routing", () => {
  test("healthz, readyz, and readyz 503 once shutdown begins", async (t) => {
    let stopping = false;
    const { app } = await embeddedApp(t, { ops: { isShuttingDown: () => stopping } });
    assert.equal((await app.inject({ method: "GET", url: "/healthz" })).statusCode, 200);
    const ready = await app.inject({ method: "GET", url: "/readyz", headers: admin });
    assert.equal(ready.statusCode, 200);
    assert.deepEqual(
      ready.json().dependencies.map((d: { name: string }) => d.name),
      ["journal", "tickets journal", "ledger", "tasks"],
    );
    stopping = true;
    assertError(await app.inject({ method: "GET", url: "/readyz" }), 503, "unavailable");
  });

  test("404 not_found, 405 method_not_allowed with Allow, X-Request-Id everywhere", async (t) => {
    const { app } = await embeddedApp(t);
    const missing = await app.inject({ method: "GET", url: "/v2/nothing" });
    assertError(missing, 404, "not_found");
    assert.ok(missing.headers["x-request-id"]);
    const wrong = await app.inject({ method: "DELETE", url: "/v1/campaigns" });
    assertError(wrong, 405, "method_not_allowed");
    assert.match(String(wrong.headers.allow), /GET/);
    assert.match(String(wrong.headers.allow), /POST/);
    const echoed = await app.inject({
      method: "GET",
      url: "/healthz",
      headers: { "x-request-id": "abc-123" },
    });
    assert.equal(echoed.headers["x-request-id"], "abc-123");
    const unsafe = await app.inject({
      method: "GET",
      url: "/healthz",
      headers: { "x-request-id": "a b\u0001" },
    });
    assert.notEqual(unsafe.headers["x-request-id"], "a b\u0001");
  });

  test("the docs page and the OpenAPI document are served", async (t) => {
    const { app } = await embeddedApp(t);
    const doc = await app.inject({ method: "GET", url: "/docs/json" });
    assert.equal(doc.statusCode, 200);
    assert.ok(doc.json().paths["/v1/campaigns/{id}/claims"]);
    const page = await app.inject({ method: "GET", url: "/docs/" });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /<html/i);
  });
});
