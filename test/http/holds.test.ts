import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { mintUserToken } from "../../src/adapters/jwt/user-tokens.ts";
import { admin, assertError, createCampaign, embeddedApp } from "../helpers/embedded-app.ts";
import { eventually } from "../helpers/wait.ts";

/**
 * The Holds routes of docs/api.md over the embedded mode, through inject():
 * holdSeconds on a campaign, the 202 and claim bodies, confirm and release
 * with every answer, who may call them, the deadline, the event stream.
 */
const SECRET = "holds-user-token-secret-0123456789abcdef";
const UNKNOWN = "AAAAAAAAAAAAAAAAAAAAAA";
/** Short holds need a lower HOLD_MIN_SECONDS (tests only); the reaper runs often. */
const settings = { HOLD_MIN_SECONDS: 1, HOLD_REAP_INTERVAL_MS: 50 };

const post = (url: string, headers: Record<string, string> = admin) =>
  ({ method: "POST", url, headers }) as const;
const claimOf = (id: string, userId: string) =>
  ({ method: "POST", url: `/v1/campaigns/${id}/claims`, payload: { userId } }) as const;

describe("campaigns with holds", () => {
  test("holdSeconds: below HOLD_MIN_SECONDS or out of 1..3600 is invalid_request naming it", async (t) => {
    const { app } = await embeddedApp(t);
    const create = (holdSeconds: unknown) =>
      app.inject({
        method: "POST",
        url: "/v1/campaigns",
        headers: admin,
        payload: { name: "H", stock: 5, holdSeconds },
      });
    for (const bad of [29, 0, 3601, "60", 1.5, null]) {
      const res = await create(bad);
      assertError(res, 400, "invalid_request");
      assert.match(res.json().message, /holdSeconds/, `holdSeconds ${JSON.stringify(bad)}`);
    }
    const res = await create(30);
    assert.equal(res.statusCode, 201);
    assert.equal(res.json().holdSeconds, 30);
  });

  test("GET shows holdSeconds and held, remaining = stock - issued - pending - held; a campaign without holds shows neither", async (t) => {
    const { app, runtime } = await embeddedApp(t, { settings });
    await createCampaign(app, { id: "h", name: "H", stock: 5, holdSeconds: 60 });
    await createCampaign(app, { id: "plain", name: "P", stock: 5 });
    const plain = (await app.inject({ method: "GET", url: "/v1/campaigns/plain" })).json();
    assert.equal("holdSeconds" in plain || "held" in plain, false);
    for (const u of ["a", "b", "c"]) assert.equal((await app.inject(claimOf("h", u))).statusCode, 202);
    const read = async () => (await app.inject({ method: "GET", url: "/v1/campaigns/h" })).json();
    await eventually(async () => (await read()).held === 3);
    await runtime.worker.stop();
    const first = (await app.inject({ method: "GET", url: "/v1/admin/stats", headers: admin })).json();
    const stats = first.campaigns.find((c: { id: string }) => c.id === "h");
    assert.deepEqual([stats.held, stats.holdSeconds], [3, 60]);
    await app.inject(claimOf("h", "d"));
    const body = await read();
    assert.deepEqual(
      [body.holdSeconds, body.issued, body.pending, body.held, body.remaining],
      [60, 0, 1, 3, 1],
    );
    const list = (await app.inject({ method: "GET", url: "/v1/campaigns", headers: admin })).json();
    assert.equal(list.campaigns.find((c: { id: string }) => c.id === "h").held, 3);
  });
});

describe("confirm and release", () => {
  test("202 and reads carry expiresAt; confirm answers 200 issued with its code, again on a repeat; release then 409", async (t) => {
    const { app } = await embeddedApp(t, { settings });
    await createCampaign(app, { id: "h", name: "H", stock: 2, holdSeconds: 60 });
    const admitted = await app.inject(claimOf("h", "alice"));
    assert.equal(admitted.statusCode, 202);
    const claim = admitted.json();
    assert.equal(claim.status, "pending");
    assert.equal(Date.parse(claim.expiresAt) - Date.parse(claim.admittedAt), 60_000);
    const get = async () => (await app.inject({ method: "GET", url: `/v1/claims/${claim.claimId}` })).json();
    await eventually(async () => (await get()).status === "held");
    assert.equal((await get()).couponCode, undefined, "no code before it is issued");

    const confirmed = await app.inject(post(`/v1/claims/${claim.claimId}/confirm`));
    assert.equal(confirmed.statusCode, 200);
    const body = confirmed.json();
    assert.deepEqual([body.claimId, body.status, body.expiresAt], [claim.claimId, "issued", claim.expiresAt]);
    assert.match(body.couponCode, /\S{8,}/);
    assert.ok(Date.parse(body.issuedAt) < Date.parse(claim.expiresAt));
    const repeat = await app.inject(post(`/v1/claims/${claim.claimId}/confirm`));
    assert.deepEqual([repeat.statusCode, repeat.json().issuedAt], [200, body.issuedAt]);
    assertError(await app.inject(post(`/v1/claims/${claim.claimId}/release`)), 409, "already_confirmed");
    await eventually(
      async () => (await app.inject({ method: "GET", url: "/v1/campaigns/h" })).json().issued === 1,
    );
    assert.equal((await get()).couponCode, body.couponCode);
  });

  test("release answers 200 released with endedAt; the unit is back at once; confirm then 410", async (t) => {
    const { app } = await embeddedApp(t, { settings });
    await createCampaign(app, { id: "h", name: "H", stock: 1, holdSeconds: 60 });
    const claim = (await app.inject(claimOf("h", "alice"))).json();
    assertError(await app.inject(claimOf("h", "bob")), 410, "sold_out");
    const released = await app.inject(post(`/v1/claims/${claim.claimId}/release`));
    assert.equal(released.statusCode, 200);
    assert.equal(released.json().status, "released");
    assert.ok(Date.parse(released.json().endedAt) >= Date.parse(claim.admittedAt));
    assert.equal(released.json().couponCode, undefined);
    assert.equal((await app.inject(post(`/v1/claims/${claim.claimId}/release`))).statusCode, 200);
    assertError(await app.inject(post(`/v1/claims/${claim.claimId}/confirm`)), 410, "hold_expired");
    assert.equal((await app.inject({ method: "GET", url: "/v1/campaigns/h" })).json().remaining, 1);
    assert.equal((await app.inject(claimOf("h", "bob"))).statusCode, 202, "the unit, handed out again");
    // Alice's list shows the ended hold.
    const mine = await app.inject({
      method: "GET",
      url: "/v1/campaigns/h/users/alice/claims",
      headers: admin,
    });
    assert.deepEqual(
      mine.json().claims.map((c: { status: string }) => c.status),
      ["released"],
    );
  });

  test("the reaper expires a hold within a second of expiresAt, with no request; confirm then 410", async (t) => {
    const { app } = await embeddedApp(t, { settings });
    await createCampaign(app, { id: "h", name: "H", stock: 1, holdSeconds: 1 });
    const claim = (await app.inject(claimOf("h", "alice"))).json();
    const expired = await eventually(
      async () => {
        const c = (await app.inject({ method: "GET", url: `/v1/claims/${claim.claimId}` })).json();
        return c.status === "expired" ? c : undefined;
      },
      3000,
      "expired",
      20,
    );
    const late = Date.parse(expired.endedAt) - Date.parse(claim.expiresAt);
    assert.ok(late >= 0 && late < 1000, `expired ${late} ms after expiresAt`);
    assertError(await app.inject(post(`/v1/claims/${claim.claimId}/confirm`)), 410, "hold_expired");
    assertError(await app.inject(post(`/v1/claims/${claim.claimId}/release`)), 410, "hold_expired");
    const campaign = (await app.inject({ method: "GET", url: "/v1/campaigns/h" })).json();
    assert.deepEqual([campaign.remaining, campaign.held, campaign.pending], [1, 0, 0]);
    assert.equal((await app.inject(claimOf("h", "alice"))).statusCode, 202, "she may claim again");
  });

  test("unknown claim 404, a claim without holds 400, a malformed id 400", async (t) => {
    const { app } = await embeddedApp(t, { settings });
    await createCampaign(app, { id: "plain", name: "P", stock: 1 });
    const plain = (await app.inject(claimOf("plain", "p"))).json();
    for (const action of ["confirm", "release"]) {
      assertError(await app.inject(post(`/v1/claims/${UNKNOWN}/${action}`)), 404, "claim_not_found");
      const notHold = await app.inject(post(`/v1/claims/${plain.claimId}/${action}`));
      assertError(notHold, 400, "invalid_request");
      assert.match(notHold.json().message, /no holds/);
      assertError(await app.inject(post(`/v1/claims/not*an*id/${action}`)), 400, "invalid_request");
    }
  });

  test("without user tokens only the admin may confirm or release (401)", async (t) => {
    const { app } = await embeddedApp(t, { settings });
    await createCampaign(app, { id: "h", name: "H", stock: 1, holdSeconds: 60 });
    const claim = (await app.inject(claimOf("h", "alice"))).json();
    for (const action of ["confirm", "release"]) {
      assertError(await app.inject(post(`/v1/claims/${claim.claimId}/${action}`, {})), 401, "unauthorized");
      assertError(
        await app.inject(post(`/v1/claims/${claim.claimId}/${action}`, { authorization: "Bearer nope" })),
        401,
        "unauthorized",
      );
    }
    assert.equal((await app.inject(post(`/v1/claims/${claim.claimId}/confirm`))).statusCode, 200);
  });

  test("with USER_TOKEN_SECRET: the claim's user or the admin; another user's token 403 and nothing decided", async (t) => {
    const { app } = await embeddedApp(t, { settings, userTokenSecret: SECRET });
    await createCampaign(app, { id: "h", name: "H", stock: 3, holdSeconds: 60 });
    const bearer = async (userId: string) => ({
      authorization: `Bearer ${await mintUserToken(SECRET, userId)}`,
    });
    const claimAs = async (userId: string) =>
      (await app.inject({ ...claimOf("h", userId), headers: await bearer(userId) })).json();
    const alice = await claimAs("alice");
    const bob = await claimAs("bob");
    assertError(await app.inject(post(`/v1/claims/${alice.claimId}/confirm`, {})), 401, "unauthorized");
    assertError(
      await app.inject(post(`/v1/claims/${alice.claimId}/confirm`, await bearer("bob"))),
      403,
      "forbidden",
    );
    assertError(
      await app.inject(post(`/v1/claims/${alice.claimId}/release`, await bearer("bob"))),
      403,
      "forbidden",
    );
    const read = await app.inject({ method: "GET", url: `/v1/claims/${alice.claimId}`, headers: admin });
    assert.equal(read.json().status === "pending" || read.json().status === "held", true, "still open");
    const own = await app.inject(post(`/v1/claims/${alice.claimId}/confirm`, await bearer("alice")));
    assert.deepEqual([own.statusCode, own.json().status], [200, "issued"]);
    const byAdmin = await app.inject(post(`/v1/claims/${bob.claimId}/release`));
    assert.deepEqual([byAdmin.statusCode, byAdmin.json().status], [200, "released"]);
    assertError(
      await app.inject(post(`/v1/claims/${UNKNOWN}/confirm`, await bearer("bob"))),
      404,
      "claim_not_found",
    );
  });

  test("a journal that does not answer: 503 unavailable within the request deadline", async (t) => {
    let stuck = false;
    const { app } = await embeddedApp(t, {
      settings,
      requestTimeoutMs: 300,
      fsync: "always",
      journal: {
        sync: async (file) => {
          while (stuck) await new Promise((r) => setTimeout(r, 10));
          await file.datasync();
        },
      },
    });
    t.after(() => {
      stuck = false;
    });
    await createCampaign(app, { id: "h", name: "H", stock: 2, holdSeconds: 60 });
    const claim = (await app.inject(claimOf("h", "alice"))).json();
    stuck = true;
    const started = performance.now();
    const res = await app.inject(post(`/v1/claims/${claim.claimId}/confirm`));
    assertError(res, 503, "unavailable");
    assert.equal(res.headers["retry-after"], "1");
    assert.ok(performance.now() - started < 2000);
    stuck = false;
    // The confirmation was decided and becomes durable: a retry answers it.
    const retry = await app.inject(post(`/v1/claims/${claim.claimId}/confirm`));
    assert.deepEqual([retry.statusCode, retry.json().status], [200, "issued"]);
  });
});

describe("events and documentation", () => {
  test("the claim's stream reports each change and ends at issued, or at expired", async (t) => {
    const { app } = await embeddedApp(t, { settings });
    await createCampaign(app, { id: "h", name: "H", stock: 2, holdSeconds: 1 });
    const address = await app.listen({ port: 0, host: "127.0.0.1" });
    const events = async (claimId: string) => {
      const text = await (await fetch(`${address}/v1/claims/${claimId}/events`)).text();
      return [...text.matchAll(/event: status\ndata: (.*)\n\n/g)].map((m) => JSON.parse(m[1]!));
    };
    const confirmedClaim = (await app.inject(claimOf("h", "a"))).json();
    const expiringClaim = (await app.inject(claimOf("h", "b"))).json();
    const confirming = events(confirmedClaim.claimId);
    const expiring = events(expiringClaim.claimId);
    await eventually(
      async () =>
        (await app.inject({ method: "GET", url: `/v1/claims/${confirmedClaim.claimId}` })).json().status ===
        "held",
    );
    await app.inject(post(`/v1/claims/${confirmedClaim.claimId}/confirm`));
    const statuses = (list: { status: string }[]) => list.map((e) => e.status);
    const confirmedEvents = await confirming;
    assert.equal(confirmedEvents.at(-1).status, "issued");
    assert.ok(confirmedEvents.at(-1).couponCode);
    assert.deepEqual(
      statuses(confirmedEvents).filter((s) => s !== "pending"),
      ["held", "issued"],
      JSON.stringify(statuses(confirmedEvents)),
    );
    const expiredEvents = await expiring;
    assert.equal(expiredEvents.at(-1).status, "expired");
    assert.ok(expiredEvents.at(-1).endedAt);
  });

  test("OpenAPI documents both routes with hold_expired and already_confirmed", async (t) => {
    const { app } = await embeddedApp(t);
    const doc = (await app.inject({ method: "GET", url: "/docs/json" })).json();
    const confirm = doc.paths["/v1/claims/{claimId}/confirm"].post;
    const release = doc.paths["/v1/claims/{claimId}/release"].post;
    assert.match(confirm.responses["410"].description, /`hold_expired`/);
    assert.match(release.responses["409"].description, /`already_confirmed`/);
    assert.equal(confirm.responses["200"].content["application/json"].schema.$ref !== undefined, true);
    assert.ok(doc.components.schemas.Claim.properties.expiresAt);
    assert.deepEqual(doc.components.schemas.Claim.properties.status.enum, [
      "pending",
      "held",
      "issued",
      "expired",
      "released",
    ]);
  });
});
