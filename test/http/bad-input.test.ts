import assert from "node:assert/strict";
import { test } from "node:test";
import type { InjectOptions } from "fastify";
import { admin, createCampaign, embeddedApp } from "../helpers/embedded-app.ts";

type Inject = InjectOptions;

const claimUrl = "/v1/campaigns/c/claims";

/** Malformed requests of every kind the issue names, each with the 4xx it must earn. */
const CASES: [string, Inject, number, string][] = [
  [
    "malformed JSON",
    { method: "POST", url: claimUrl, headers: { "content-type": "application/json" }, payload: '{"userId":' },
    400,
    "invalid_request",
  ],
  [
    "empty JSON body",
    { method: "POST", url: claimUrl, headers: { "content-type": "application/json" }, payload: "" },
    400,
    "invalid_request",
  ],
  [
    "JSON array",
    { method: "POST", url: claimUrl, headers: { "content-type": "application/json" }, payload: "[]" },
    400,
    "invalid_request",
  ],
  ["userId a number", { method: "POST", url: claimUrl, payload: { userId: 42 } }, 400, "invalid_request"],
  ["userId null", { method: "POST", url: claimUrl, payload: { userId: null } }, 400, "invalid_request"],
  ["userId missing", { method: "POST", url: claimUrl, payload: {} }, 400, "invalid_request"],
  ["userId empty", { method: "POST", url: claimUrl, payload: { userId: "" } }, 400, "invalid_request"],
  [
    "userId 129 chars",
    { method: "POST", url: claimUrl, payload: { userId: "u".repeat(129) } },
    400,
    "invalid_request",
  ],
  [
    "userId with NUL",
    { method: "POST", url: claimUrl, payload: { userId: "a\u0000b" } },
    400,
    "invalid_request",
  ],
  [
    "userId with newline",
    { method: "POST", url: claimUrl, payload: { userId: "a\nb" } },
    400,
    "invalid_request",
  ],
  [
    "userId with DEL",
    { method: "POST", url: claimUrl, payload: { userId: "a\u007fb" } },
    400,
    "invalid_request",
  ],
  [
    "unknown field",
    { method: "POST", url: claimUrl, payload: { userId: "u", admin: true } },
    400,
    "invalid_request",
  ],
  [
    "__proto__ pollution",
    {
      method: "POST",
      url: claimUrl,
      headers: { "content-type": "application/json" },
      payload: '{"userId":"u","__proto__":{"x":1}}',
    },
    400,
    "invalid_request",
  ],
  [
    "body over 16 KB",
    { method: "POST", url: claimUrl, payload: { userId: "u", pad: "x".repeat(17 * 1024) } },
    413,
    "payload_too_large",
  ],
  [
    "text/plain body",
    { method: "POST", url: claimUrl, headers: { "content-type": "text/plain" }, payload: "userId=u" },
    415,
    "unsupported_media_type",
  ],
  [
    "form body",
    {
      method: "POST",
      url: claimUrl,
      headers: { "content-type": "application/x-www-form-urlencoded" },
      payload: "userId=u",
    },
    415,
    "unsupported_media_type",
  ],
  [
    "overlong Idempotency-Key",
    {
      method: "POST",
      url: claimUrl,
      headers: { "idempotency-key": "k".repeat(129) },
      payload: { userId: "u" },
    },
    400,
    "invalid_request",
  ],
  [
    "campaign id with bad characters",
    { method: "POST", url: "/v1/campaigns/a.b/claims", payload: { userId: "u" } },
    400,
    "invalid_request",
  ],
  ["campaign id 65 chars", { method: "GET", url: `/v1/campaigns/${"a".repeat(65)}` }, 400, "invalid_request"],
  ["unknown route", { method: "GET", url: "/v1/coupons" }, 404, "not_found"],
  [
    "unknown nested route",
    { method: "POST", url: "/v1/campaigns/c/claims/extra", payload: {} },
    404,
    "not_found",
  ],
  ["wrong method on claims", { method: "GET", url: claimUrl }, 405, "method_not_allowed"],
  [
    "wrong method on a claim",
    { method: "DELETE", url: "/v1/claims/AAAAAAAAAAAAAAAAAAAAAA" },
    405,
    "method_not_allowed",
  ],
  [
    "no admin token",
    { method: "POST", url: "/v1/campaigns", payload: { name: "x", stock: 1 } },
    401,
    "unauthorized",
  ],
  [
    "wrong admin token",
    { method: "GET", url: "/v1/campaigns", headers: { authorization: "Bearer nope-nope-nope-nope" } },
    401,
    "unauthorized",
  ],
  [
    "admin token in the wrong scheme",
    {
      method: "GET",
      url: "/v1/campaigns",
      headers: { authorization: admin.authorization.replace("Bearer", "Token") },
    },
    401,
    "unauthorized",
  ],
];

test("malformed requests earn a contract 4xx with the JSON error shape, never a 5xx", async (t) => {
  const { app } = await embeddedApp(t);
  await createCampaign(app, { id: "c", name: "C", stock: 1000 });
  for (const [name, request, status, code] of CASES) {
    const res = await app.inject(request);
    assert.equal(res.statusCode, status, `${name}: ${res.body}`);
    assert.match(String(res.headers["content-type"]), /application\/json/, name);
    const body = res.json() as Record<string, unknown>;
    assert.equal(body.error, code, name);
    assert.equal(typeof body.message, "string", name);
    assert.ok(res.headers["x-request-id"], `${name}: X-Request-Id`);
  }
  // Nothing malformed was admitted, and the server still works.
  const campaign = (await app.inject({ method: "GET", url: "/v1/campaigns/c" })).json();
  assert.equal(campaign.remaining, 1000);
  assert.equal((await app.inject({ method: "GET", url: "/healthz" })).statusCode, 200);
  const ok = await app.inject({ method: "POST", url: claimUrl, payload: { userId: "after-the-storm" } });
  assert.equal(ok.statusCode, 202);
});

test("user ids of 128 characters and non-ASCII ones are accepted", async (t) => {
  const { app } = await embeddedApp(t);
  await createCampaign(app, { id: "c", name: "C", stock: 10 });
  for (const userId of ["u".repeat(128), "zoë-ñandú-用户", "a b"]) {
    const res = await app.inject({ method: "POST", url: claimUrl, payload: { userId } });
    assert.equal(res.statusCode, 202, `${userId}: ${res.body}`);
    assert.equal(res.json().userId, userId);
  }
});
