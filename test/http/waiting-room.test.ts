import assert from "node:assert/strict";
import { createHash, createHmac } from "node:crypto";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { FastifyInstance } from "fastify";
import { mintUserToken } from "../../src/adapters/jwt/user-tokens.ts";
import { parseRate } from "../../src/domain/rate-policy.ts";
import { admin, assertError, createCampaign, embeddedApp } from "../helpers/embedded-app.ts";

/**
 * The waiting room over inject() (docs/api.md "Waiting room"): creation and
 * its bounds, the commitment and the reveal, the bad inputs, a small line
 * released in draw order then arrival order, sold out at once.
 */
const settings = { RELEASE_INTERVAL_MS: 20, RATE_LIMIT_USER: undefined };

const iso = (ms: number) => new Date(ms).toISOString();
const join = (app: FastifyInstance, id: string, userId: string) =>
  app.inject({ method: "POST", url: `/v1/campaigns/${id}/queue`, payload: { userId } });
const ticket = async (app: FastifyInstance, id: string, ticketId: string) =>
  (await app.inject({ method: "GET", url: `/v1/campaigns/${id}/queue/${ticketId}` })).json() as Record<
    string,
    unknown
  >;
const campaign = async (app: FastifyInstance, id: string) =>
  (await app.inject({ method: "GET", url: `/v1/campaigns/${id}` })).json() as Record<string, unknown>;

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) assert.fail(`not reached in time: ${JSON.stringify(value)}`);
    await sleep(20);
  }
}

test("creation: waitingRoom needs startsAt and stays in bounds; the commitment shows at once, the seed from startsAt", async (t) => {
  const { app } = await embeddedApp(t, { settings });
  const post = (body: Record<string, unknown>) =>
    app.inject({ method: "POST", url: "/v1/campaigns", headers: admin, payload: body });
  const base = { name: "Room", stock: 5 };
  assertError(await post({ ...base, waitingRoom: { prequeueSeconds: 60 } }), 400, "invalid_request");
  const startsAt = iso(Date.now() + 400);
  for (const waitingRoom of [
    { prequeueSeconds: 0 },
    { prequeueSeconds: 86_401 },
    { prequeueSeconds: 60, releasePerSecond: 0 },
    { prequeueSeconds: 60, releasePerSecond: 100_001 },
    { prequeueSeconds: 60, extra: 1 },
    {},
  ])
    assertError(await post({ ...base, startsAt, waitingRoom }), 400, "invalid_request");

  const created = await post({
    ...base,
    id: "room",
    startsAt,
    waitingRoom: { prequeueSeconds: 60, releasePerSecond: 10 },
  });
  assert.equal(created.statusCode, 201);
  const body = created.json() as Record<string, unknown>;
  assert.deepEqual(body.waitingRoom, { prequeueSeconds: 60, releasePerSecond: 10 });
  assert.match(String(body.drawCommitment), /^[0-9a-f]{64}$/);
  assert.equal(body.drawSeed, undefined, "no seed before startsAt");
  assert.equal((await campaign(app, "room")).drawSeed, undefined);
  const listed = (await app.inject({ method: "GET", url: "/v1/campaigns", headers: admin })).json() as {
    campaigns: Record<string, unknown>[];
  };
  assert.equal(listed.campaigns[0]?.drawSeed, undefined);
  assert.equal(
    JSON.stringify(listed).includes('"seed"'),
    false,
    "the seed is never shown under another name",
  );

  await sleep(Date.parse(startsAt) - Date.now() + 10);
  const revealed = await campaign(app, "room");
  assert.match(String(revealed.drawSeed), /^[0-9a-f]{64}$/);
  assert.equal(
    createHash("sha256")
      .update(Buffer.from(String(revealed.drawSeed), "hex"))
      .digest("hex"),
    body.drawCommitment,
    "sha256(seed) is the commitment shown at creation",
  );
});

test("bad input: before the pre-queue, twice, an unknown ticket, a direct claim (403 queue), no room, the draw before startsAt", async (t) => {
  const { app } = await embeddedApp(t, { settings });
  await createCampaign(app, {
    id: "later",
    name: "Later",
    stock: 5,
    startsAt: iso(Date.now() + 3_600_000),
    waitingRoom: { prequeueSeconds: 60 },
  });
  const early = await join(app, "later", "alice");
  assertError(early, 403, "campaign_not_active");
  assert.equal(early.json().reason, "not_started");

  await createCampaign(app, {
    id: "soon",
    name: "Soon",
    stock: 5,
    startsAt: iso(Date.now() + 60_000),
    waitingRoom: { prequeueSeconds: 120 },
  });
  const first = await join(app, "soon", "alice");
  assert.equal(first.statusCode, 202);
  const t1 = first.json() as Record<string, unknown>;
  assert.equal(t1.status, "waiting");
  assert.equal(t1.position, null, "no position before the draw");
  assert.equal(t1.drawValue, undefined, "no drawValue before the seed is public");
  const again = await join(app, "soon", "alice");
  assert.equal(again.statusCode, 200);
  assert.equal(again.json().ticketId, t1.ticketId, "the same ticket");

  assertError(
    await app.inject({ method: "GET", url: "/v1/campaigns/soon/queue/AAAAAAAAAAAAAAAAAAAAAA" }),
    404,
    "ticket_not_found",
  );
  assertError(
    await app.inject({ method: "GET", url: `/v1/campaigns/later/queue/${t1.ticketId}` }),
    404,
    "ticket_not_found",
  );
  assertError(
    await app.inject({ method: "GET", url: `/v1/campaigns/nope/queue/${t1.ticketId}` }),
    404,
    "campaign_not_found",
  );
  const direct = await app.inject({
    method: "POST",
    url: "/v1/campaigns/soon/claims",
    payload: { userId: "bob" },
  });
  assertError(direct, 403, "campaign_not_active");
  assert.equal(direct.json().reason, "queue");
  assertError(
    await app.inject({ method: "GET", url: "/v1/campaigns/soon/draw" }),
    403,
    "campaign_not_active",
  );

  await createCampaign(app, { id: "plain", name: "Plain", stock: 5 });
  assertError(await join(app, "plain", "alice"), 400, "invalid_request");
  assertError(await app.inject({ method: "GET", url: "/v1/campaigns/plain/draw" }), 400, "invalid_request");
  assertError(await join(app, "nope", "alice"), 404, "campaign_not_found");
  assertError(await join(app, "soon", "\u0000"), 400, "invalid_request");
});

test("a small line: the pre-queue admitted in HMAC order, then arrivals; the rest sold out at once; the draw verifies", async (t) => {
  const { app, runtime } = await embeddedApp(t, { settings });
  const startsAt = Date.now() + 2000; // room for the five joins before it on a busy machine
  const created = (await createCampaign(app, {
    id: "small",
    name: "Small",
    stock: 6,
    startsAt: iso(startsAt),
    // Slow enough that the late joiners are in line before the pre-queue is through.
    waitingRoom: { prequeueSeconds: 60, releasePerSecond: 20 },
  })) as { id: string; drawCommitment?: string };
  const early = ["u1", "u2", "u3", "u4", "u5"];
  const tickets = new Map<string, string>();
  for (const u of early) tickets.set(u, (await join(app, "small", u)).json().ticketId);
  await sleep(startsAt - Date.now() + 5);
  const late = ["late1", "late2", "late3"];
  for (const u of late) {
    const res = await join(app, "small", u);
    assert.equal(res.statusCode, 202);
    tickets.set(u, res.json().ticketId);
  }
  const seed = String((await campaign(app, "small")).drawSeed);
  const hmac = (u: string) => createHmac("sha256", Buffer.from(seed, "hex")).update(u).digest("hex");
  const expected = [...[...early].sort((a, b) => (hmac(a) < hmac(b) ? -1 : 1)), ...late];

  const finals = await until(
    () => Promise.all(expected.map((u) => ticket(app, "small", tickets.get(u)!))),
    (all) => all.every((x) => x.status !== "waiting"),
  );
  assert.deepEqual(
    finals.map((x) => x.status),
    ["admitted", "admitted", "admitted", "admitted", "admitted", "admitted", "sold_out", "sold_out"],
  );
  for (const [i, x] of finals.entries()) {
    if (i < 5) assert.equal(x.drawValue, hmac(expected[i]!), "a pre-queued ticket shows its drawValue");
    else assert.equal(x.drawValue, undefined);
  }
  // The order of admission: claims' unit numbers follow the line.
  const claims = await Promise.all(
    finals.slice(0, 6).map(async (x) => {
      assert.equal(x.claimId, x.ticketId, "the claim takes the ticket's id");
      return (await app.inject({ method: "GET", url: `/v1/claims/${x.claimId}` })).json() as {
        userId: string;
        status: string;
      };
    }),
  );
  assert.deepEqual(
    claims.map((c) => c.userId),
    expected.slice(0, 6),
  );
  const units = (await runtime.admission.userClaims("small", expected[0]!))[0]!.unit;
  assert.equal(units, 1, "the first in line took the first unit");

  const draw = await app.inject({ method: "GET", url: "/v1/campaigns/small/draw" });
  assert.equal(draw.statusCode, 200);
  const body = draw.json() as {
    drawCommitment: string;
    drawSeed: string;
    prequeued: number;
    order: string[];
  };
  assert.equal(body.drawCommitment, created.drawCommitment);
  assert.equal(body.drawSeed, seed);
  assert.equal(body.prequeued, 5);
  assert.deepEqual(body.order, early.map(hmac).sort());

  assertError(await join(app, "small", "too-late"), 410, "sold_out");
  const direct = await app.inject({
    method: "POST",
    url: "/v1/campaigns/small/claims",
    payload: { userId: expected[0] },
  });
  assertError(direct, 409, "already_claimed");
  assert.equal(
    direct.json().claimId,
    finals[0]!.claimId,
    "a holder is named their claim, as the order of checks says",
  );
});

test("with USER_TOKEN_SECRET: a join needs the user's own token; a ticket reads for its user or the admin", async (t) => {
  const secret = "room-user-token-secret-0123456789abcdef";
  const { app } = await embeddedApp(t, { settings, userTokenSecret: secret });
  await createCampaign(app, {
    id: "tokens",
    name: "Tokens",
    stock: 5,
    startsAt: iso(Date.now() + 60_000),
    waitingRoom: { prequeueSeconds: 120 },
  });
  const bearer = async (userId: string) => ({
    authorization: `Bearer ${await mintUserToken(secret, userId)}`,
  });
  const joinAs = async (userId: string, headers: Record<string, string>) =>
    app.inject({ method: "POST", url: "/v1/campaigns/tokens/queue", payload: { userId }, headers });
  assertError(await joinAs("alice", {}), 401, "unauthorized");
  assertError(await joinAs("alice", await bearer("bob")), 403, "forbidden");
  const joined = await joinAs("alice", await bearer("alice"));
  assert.equal(joined.statusCode, 202);
  const url = `/v1/campaigns/tokens/queue/${joined.json().ticketId}`;
  assertError(await app.inject({ method: "GET", url }), 401, "unauthorized");
  assertError(await app.inject({ method: "GET", url, headers: await bearer("bob") }), 403, "forbidden");
  assert.equal((await app.inject({ method: "GET", url, headers: await bearer("alice") })).statusCode, 200);
  assert.equal((await app.inject({ method: "GET", url, headers: admin })).statusCode, 200);
  assertError(
    await app.inject({ method: "GET", url: `${url}/events`, headers: await bearer("bob") }),
    403,
    "forbidden",
  );
});

test("joins are rate limited like claims; a repeat of a join is answered before the limiter", async (t) => {
  const { app } = await embeddedApp(t, {
    settings,
    rateLimit: { ip: parseRate("3/m", "RATE_LIMIT_IP") },
  });
  await createCampaign(app, {
    id: "limited",
    name: "Limited",
    stock: 5,
    startsAt: iso(Date.now() + 60_000),
    waitingRoom: { prequeueSeconds: 120 },
  });
  const statuses: number[] = [];
  for (const u of ["a", "b", "c", "d"]) statuses.push((await join(app, "limited", u)).statusCode);
  assert.deepEqual(statuses, [202, 202, 202, 429]);
  const limited = await join(app, "limited", "e");
  assertError(limited, 429, "rate_limited");
  assert.ok(Number(limited.headers["retry-after"]) >= 1);
  assert.equal(
    (await join(app, "limited", "a")).statusCode,
    200,
    "the user's ticket, known, answered at once",
  );
});
