import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import fc from "fast-check";
import type { FastifyInstance } from "fastify";
import { mintUserToken } from "../../src/adapters/jwt/user-tokens.ts";
import { parseRate } from "../../src/domain/rate-policy.ts";
import { HTTP_STATUS } from "../../src/http/plugins/errors.ts";
import { ADMIN_TOKEN, createCampaign, embeddedApp } from "../helpers/embedded-app.ts";
import { rawRequest } from "../helpers/raw-http.ts";

/**
 * Property: whatever arrives, the answer is one of the contract's codes, every
 * 4xx carries the JSON error shape with a catalogued code, nothing is a 5xx,
 * and the server is healthy afterwards. Thousands of random requests through
 * inject(), then a smaller run of raw bytes over a real socket.
 *
 * FUZZ_RUNS scales the run (default 3000 per app through inject, 400 raw);
 * FUZZ_SEED replays a failure that fast-check reported.
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 3000);
const RAW_RUNS = Math.max(50, Math.round(RUNS / 7.5));
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const SECRET = "fuzz-user-token-secret-at-least-32-chars";

const CONTRACT_STATUSES = new Set([200, 201, 202, 204, 400, 401, 403, 404, 405, 409, 410, 413, 415, 429]);
const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "PROPFIND", "SEARCH", "TRACE"];
const TEMPLATES = [
  "/",
  "/healthz",
  "/readyz",
  "/metrics",
  "/v1/campaigns",
  "/v1/campaigns/:id",
  "/v1/campaigns/:id/claims",
  "/v1/campaigns/:id/users/:userId/claims",
  "/v1/claims/:claimId",
  "/v1/claims/:claimId/events",
  "/v1/tasks",
  "/v1/tasks/:taskId",
  "/v1/admin/stats",
];

interface World {
  campaigns: string[];
  claimIds: string[];
  userToken: string;
  /** Users with a token each (same index), for well-formed claims. */
  users: string[];
  tokens: string[];
}

/** A path parameter: valid ids, junk, encodings, oversized. */
const segment = (world: World) =>
  fc.oneof(
    fc.constantFrom(...world.campaigns, ...world.claimIds),
    fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/),
    fc.string({ maxLength: 80 }).map(encodeURIComponent),
    fc.string({ unit: "binary", maxLength: 40 }).map(encodeURIComponent),
    fc.constantFrom(
      "..",
      ".",
      "%00",
      "%E0%A4%A",
      "%",
      "%zz",
      "a%2Fb",
      "__proto__",
      "constructor",
      " ",
      "%20",
      "ünïcödé",
    ),
    fc.integer({ min: 60, max: 400 }).map((n) => "a".repeat(n)),
  );

const path = (world: World) =>
  fc.oneof(
    {
      weight: 6,
      arbitrary: fc
        .tuple(fc.constantFrom(...TEMPLATES), fc.array(segment(world), { minLength: 2, maxLength: 2 }))
        .map(([template, [a, b]]) => template.replace(/:(id|claimId|taskId)/, a!).replace(":userId", b!)),
    },
    { weight: 1, arbitrary: fc.webPath().map((p) => (p.startsWith("/") ? p : `/${p}`)) },
    { weight: 1, arbitrary: fc.string({ maxLength: 60 }).map((s) => `/${encodeURI(s)}`) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        "/docs",
        "/docs/",
        "/docs/json",
        "/docs/yaml",
        "/docs/static/index.html",
        "//v1//campaigns",
        "/v1/campaigns/",
        "/V1/CAMPAIGNS",
      ),
    },
  );

const query = fc.oneof(
  { weight: 4, arbitrary: fc.constant("") },
  { weight: 1, arbitrary: fc.webQueryParameters().map((q) => `?${q}`) },
  {
    weight: 1,
    arbitrary: fc.constantFrom("?token=x", "?a=1&a=2", "?__proto__[x]=1", `?${"q=".repeat(500)}`),
  },
);

const headers = (world: World) =>
  fc.record(
    {
      "content-type": fc.oneof(
        fc.constantFrom(
          "application/json",
          "application/json; charset=utf-8",
          "APPLICATION/JSON",
          "text/plain",
          "application/x-www-form-urlencoded",
          "multipart/form-data; boundary=x",
          "application/json; charset=latin1",
          "",
        ),
        fc.string({ maxLength: 30 }),
      ),
      authorization: fc.oneof(
        fc.constantFrom(
          `Bearer ${ADMIN_TOKEN}`,
          `Bearer ${world.userToken}`,
          "Bearer",
          "Basic YTpi",
          `Bearer ${ADMIN_TOKEN}x`,
        ),
        fc.string({ maxLength: 60 }).map((s) => `Bearer ${s}`),
      ),
      "idempotency-key": fc.oneof(fc.stringMatching(/^[!-~]{1,20}$/), fc.string({ maxLength: 200 })),
      "x-request-id": fc.oneof(fc.uuid(), fc.string({ maxLength: 200 })),
      "x-forwarded-for": fc.oneof(fc.ipV4(), fc.ipV6(), fc.string({ maxLength: 40 })),
      origin: fc.constantFrom("https://shop.example", "https://evil.example", "null"),
      "access-control-request-method": fc.constantFrom("POST", "GET", "DELETE"),
      cookie: fc.oneof(fc.constant(`stampede_token=${world.userToken}`), fc.string({ maxLength: 60 })),
      accept: fc.constantFrom("application/json", "text/event-stream", "*/*", "text/html"),
    },
    { requiredKeys: [] },
  );

const claimLike = (world: World) =>
  fc.oneof(
    fc.record({
      userId: fc.oneof(
        fc.string({ maxLength: 140 }),
        fc.constantFrom("alice", "bob", ""),
        fc.string({ unit: "binary", maxLength: 20 }),
      ),
    }),
    fc.record({ userId: fc.string({ maxLength: 10 }), extra: fc.jsonValue() }),
    fc.record({ userId: fc.oneof(fc.integer(), fc.constant(null), fc.array(fc.string()), fc.boolean()) }),
    fc.record(
      {
        name: fc.string({ maxLength: 220 }),
        stock: fc.oneof(fc.integer(), fc.double(), fc.string()),
        id: segment(world),
      },
      { requiredKeys: [] },
    ),
    fc.record({ type: fc.constantFrom("sleep", "nope"), payload: fc.jsonValue() }, { requiredKeys: [] }),
  );

/** A body: JSON of the right shape or nearly, any JSON, broken JSON, pollution attempts, oversized. */
const body = (world: World) =>
  fc.oneof(
    { weight: 2, arbitrary: fc.constant(undefined) },
    { weight: 4, arbitrary: claimLike(world).map((v) => JSON.stringify(v)) },
    { weight: 2, arbitrary: fc.json({ maxDepth: 4 }) },
    { weight: 1, arbitrary: fc.string({ maxLength: 100 }) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '{"userId":"a","__proto__":{"admin":true}}',
        '{"userId":"a","constructor":{"prototype":{"x":1}}}',
        '{"userId":"a","userId":"b"}',
        "[".repeat(5000) + "]".repeat(5000),
        `{"userId":"${"x".repeat(17_000)}"}`,
        `{"userId":"\\u0000"}`,
        '{"userId":"\\ud800"}',
        "\uFEFF{}",
        "null",
        "",
      ),
    },
  );

const chaos = (world: World) =>
  fc.record({
    method: fc.constantFrom(...METHODS),
    path: path(world),
    query,
    headers: headers(world),
    body: body(world),
  });

/** Well-formed claims (so that admission is reached: 202, 409, 410, 403, 429), with a little noise. */
const plausibleClaim = (world: World) =>
  fc
    .record({
      campaign: fc.oneof(fc.constantFrom(...world.campaigns), segment(world)),
      user: fc.nat(world.users.length - 1),
      otherUser: fc.nat(world.users.length - 1),
      randomUserId: fc.string({ maxLength: 20 }),
      // 0: another user's token, 1: a random userId, 2-3: an Idempotency-Key, 4: over 16 KB, else clean.
      noise: fc.nat(9),
      idempotencyKey: fc.stringMatching(/^[!-~]{1,8}$/),
    })
    .map(({ campaign, user, otherUser, randomUserId, noise, idempotencyKey }) => ({
      method: "POST",
      path: `/v1/campaigns/${campaign}/claims`,
      query: "",
      headers: {
        "content-type": "application/json",
        authorization: `Bearer ${world.tokens[noise === 0 ? otherUser : user]}`,
        ...(noise === 2 || noise === 3 ? { "idempotency-key": idempotencyKey } : {}),
      },
      body: JSON.stringify({
        userId: noise === 1 ? randomUserId : world.users[user],
        ...(noise === 4 ? { padding: "x".repeat(16 * 1024) } : {}),
      }),
    }));

/** Reads with valid-looking ids and sometimes the right credentials. */
const plausibleRead = (world: World) =>
  fc
    .record({
      template: fc.constantFrom(...TEMPLATES),
      a: fc.constantFrom(...world.campaigns, ...world.claimIds),
      b: fc.constantFrom(...world.users),
      authorization: fc.constantFrom(`Bearer ${ADMIN_TOKEN}`, `Bearer ${world.userToken}`, undefined),
    })
    .map(({ template, a, b, authorization }) => ({
      method: "GET",
      path: template.replace(/:(id|claimId|taskId)/, a).replace(":userId", b),
      query: "",
      headers: (authorization === undefined ? {} : { authorization }) as Record<string, string>,
      body: undefined,
    }));

const request = (world: World) =>
  fc.oneof(
    { weight: 4, arbitrary: chaos(world) },
    { weight: 2, arbitrary: plausibleClaim(world) },
    { weight: 1, arbitrary: plausibleRead(world) },
  );

type Req = {
  method: string;
  path: string;
  query: string;
  headers: Record<string, string>;
  body: string | undefined;
};

function checkAnswer(req: Req, status: number, headers: Record<string, unknown>, text: string) {
  const what = `${req.method} ${req.path}${req.query} -> ${status} ${text.slice(0, 300)}`;
  assert.ok(status < 500, `never a 5xx: ${what}`);
  assert.ok(headers["x-request-id"], `X-Request-Id: ${what}`);
  const docs = req.path.startsWith("/docs");
  if (docs && status < 400) return; // the OpenAPI page serves HTML, JS and redirects
  assert.ok(CONTRACT_STATUSES.has(status), `a contract status: ${what}`);
  if (status < 400 || req.method === "HEAD") return;
  assert.match(String(headers["content-type"]), /^application\/json/, what);
  const parsed = JSON.parse(text) as { error: unknown; message: unknown };
  assert.ok(Object.hasOwn(HTTP_STATUS, String(parsed.error)), `a catalogued code: ${what}`);
  assert.equal(HTTP_STATUS[parsed.error as keyof typeof HTTP_STATUS], status, what);
  assert.equal(typeof parsed.message, "string", what);
  if (status === 429) assert.ok(headers["retry-after"], `Retry-After: ${what}`);
  if (status === 405) assert.ok(headers.allow, `Allow: ${what}`);
}

async function setUp(app: FastifyInstance, userToken: string): Promise<World> {
  const open = await createCampaign(app, { id: "open", name: "open", stock: 100_000 });
  const few = await createCampaign(app, { id: "few", name: "few", stock: 3 });
  const later = await createCampaign(app, {
    id: "later",
    name: "later",
    stock: 5,
    startsAt: "2999-01-01T00:00:00Z",
  });
  const claim = await app.inject({
    method: "POST",
    url: "/v1/campaigns/open/claims",
    headers: { authorization: `Bearer ${userToken}` },
    payload: { userId: "alice" },
  });
  assert.equal(claim.statusCode, 202, claim.body);
  const users = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"];
  const tokens = await Promise.all(users.map((u) => mintUserToken(SECRET, u)));
  return {
    campaigns: [open.id, few.id, later.id],
    claimIds: [claim.json().claimId as string],
    userToken,
    users,
    tokens,
  };
}

async function assertHealthy(app: FastifyInstance) {
  assert.equal((await app.inject({ method: "GET", url: "/healthz" })).statusCode, 200);
  assert.equal((await app.inject({ method: "GET", url: "/readyz" })).statusCode, 200);
  // A fresh user with a valid token (ignored where user tokens are off) is admitted.
  const claim = await app.inject({
    method: "POST",
    url: "/v1/campaigns/open/claims",
    headers: { authorization: `Bearer ${await mintUserToken(SECRET, "after-the-fuzz")}` },
    payload: { userId: "after-the-fuzz" },
  });
  assert.equal(claim.statusCode, 202, claim.body);
  const own = await app.inject({ method: "GET", url: "/v1/campaigns/open", headers: {} });
  assert.equal(own.statusCode, 200);
  assert.ok(own.json().remaining >= 0);
}

const variants = [
  // Limits per minute, so that the statuses reached do not depend on the machine's speed.
  {
    name: "rate limit per user, CORS on",
    options: { rateLimit: { user: parseRate("3/m", "x") }, app: { corsOrigins: ["https://shop.example"] } },
  },
  {
    name: "user tokens, per-address limit, trusted proxy",
    options: {
      userTokenSecret: SECRET,
      rateLimit: { user: parseRate("3/m", "x"), ip: parseRate("100/m", "x") },
      app: { trustProxy: "127.0.0.1" },
    },
  },
];

for (const variant of variants) {
  test(`fuzz through inject(): ${variant.name}`, async (t) => {
    const { app } = await embeddedApp(t, variant.options);
    const userToken = await mintUserToken(SECRET, "alice");
    const world = await setUp(app, userToken);
    const statuses = new Map<number, number>();
    const started = performance.now();
    await fc.assert(
      fc.asyncProperty(request(world), async (req) => {
        const res = await app.inject({
          method: req.method as "GET",
          url: req.path + req.query,
          headers: req.headers,
          ...(req.body === undefined ? {} : { payload: req.body }),
        });
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
        checkAnswer(req, res.statusCode, res.headers, res.body);
      }),
      { numRuns: RUNS, ...(SEED === undefined ? {} : { seed: SEED }) },
    );
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    t.diagnostic(
      `${RUNS} requests in ${seconds} s; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`,
    );
    for (const code of [202, 400, 401, 403, 404, 405, 409, 410, 413, 415, 429])
      assert.ok(statuses.has(code), `the fuzz reached ${code}`);
    await assertHealthy(app);
  });
}

/** Raw bytes for the socket run: a request line, header lines (some invalid), a body with a true Content-Length. */
const token = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,20}$/);
const rawRequestBytes = (world: World) =>
  fc
    .record({
      method: fc.oneof(fc.constantFrom(...METHODS), token, fc.string({ maxLength: 8 })),
      target: fc.oneof(
        { weight: 4, arbitrary: fc.tuple(path(world), query).map(([p, q]) => p + q) },
        { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
      ),
      version: fc.constantFrom("HTTP/1.1", "HTTP/1.1", "HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/1.x", ""),
      headers: fc.array(
        fc.oneof(
          fc.tuple(
            fc.constantFrom(
              "content-type",
              "authorization",
              "idempotency-key",
              "x-request-id",
              "origin",
              "cookie",
              "accept",
            ),
            fc.string({ maxLength: 40 }),
          ),
          fc.tuple(token, fc.string({ maxLength: 40 })),
          fc.tuple(fc.string({ maxLength: 10 }), fc.string({ unit: "binary", maxLength: 20 })),
        ),
        { maxLength: 6 },
      ),
      body: body(world),
    })
    .map((r) => {
      const lines = r.headers
        .filter(
          ([name]) =>
            !/^(expect|upgrade|connection|content-length|transfer-encoding|host)$/i.test(name.trim()),
        )
        .map(([name, value]) => `${name}: ${value}`);
      const payload = Buffer.from(r.body ?? "", "utf8");
      const head = [
        `${r.method} ${r.target} ${r.version}`.trimEnd(),
        "Host: 127.0.0.1",
        "Connection: close",
        ...lines,
      ];
      if (r.body !== undefined) head.push(`Content-Length: ${payload.length}`);
      const bytes = Buffer.concat([Buffer.from(`${head.join("\r\n")}\r\n\r\n`, "utf8"), payload]);
      return { req: { method: r.method, path: r.target, query: "", headers: {}, body: r.body }, bytes };
    });

test("fuzz over a real socket: raw, often malformed HTTP", async (t) => {
  const { app } = await embeddedApp(t, { rateLimit: { user: parseRate("5/s", "x") } });
  const userToken = await mintUserToken(SECRET, "alice");
  const world = await setUp(app, userToken);
  await app.listen({ port: 0, host: "127.0.0.1" });
  const { port } = app.server.address() as AddressInfo;
  const statuses = new Map<number, number>();
  const started = performance.now();
  await fc.assert(
    fc.asyncProperty(rawRequestBytes(world), async ({ req, bytes }) => {
      const answer = await rawRequest(port, bytes);
      assert.ok(
        answer.status > 0,
        `an answer, not ${answer.error ?? "a silent close"}: ${JSON.stringify(bytes.toString("latin1").slice(0, 300))}`,
      );
      statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
      checkAnswer(req as Req, answer.status, answer.headers, answer.body);
    }),
    { numRuns: RAW_RUNS, ...(SEED === undefined ? {} : { seed: SEED }) },
  );
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  t.diagnostic(
    `${RAW_RUNS} raw requests in ${seconds} s; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`,
  );
  assert.ok(statuses.has(400) && statuses.size > 2, "both malformed and well-formed requests were sent");
  await assertHealthy(app);
});
