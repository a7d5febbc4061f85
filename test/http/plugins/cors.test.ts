import assert from "node:assert/strict";
import { test } from "node:test";
import { createCampaign, embeddedApp } from "../../helpers/embedded-app.ts";

const SHOP = "https://shop.example";

test("no CORS_ORIGINS: no CORS header, and a preflight is an unknown route", async (t) => {
  const { app } = await embeddedApp(t);
  const { id } = await createCampaign(app, { name: "c", stock: 1 });
  const res = await app.inject({ method: "GET", url: `/v1/campaigns/${id}`, headers: { origin: SHOP } });
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers["access-control-allow-origin"], undefined);
  const preflight = await app.inject({
    method: "OPTIONS",
    url: `/v1/campaigns/${id}/claims`,
    headers: { origin: SHOP, "access-control-request-method": "POST" },
  });
  assert.equal(preflight.statusCode, 404);
  assert.equal(preflight.json().error, "not_found");
  assert.equal(preflight.headers["access-control-allow-origin"], undefined);
});

test("CORS_ORIGINS lists who may call, with credentials; others get no permission", async (t) => {
  const { app } = await embeddedApp(t, { app: { corsOrigins: [SHOP, "https://other.example"] } });
  const { id } = await createCampaign(app, { name: "c", stock: 1 });

  const allowed = await app.inject({ method: "GET", url: `/v1/campaigns/${id}`, headers: { origin: SHOP } });
  assert.equal(allowed.headers["access-control-allow-origin"], SHOP);
  assert.equal(allowed.headers["access-control-allow-credentials"], "true");
  assert.match(String(allowed.headers["access-control-expose-headers"]), /retry-after/);
  assert.match(String(allowed.headers.vary), /origin/i);

  const stranger = await app.inject({
    method: "GET",
    url: `/v1/campaigns/${id}`,
    headers: { origin: "https://evil.example" },
  });
  assert.equal(
    stranger.statusCode,
    200,
    "CORS is enforced by the browser; the server only withholds permission",
  );
  assert.equal(stranger.headers["access-control-allow-origin"], undefined);

  const preflight = await app.inject({
    method: "OPTIONS",
    url: `/v1/campaigns/${id}/claims`,
    headers: {
      origin: SHOP,
      "access-control-request-method": "POST",
      "access-control-request-headers": "authorization, content-type",
    },
  });
  assert.equal(preflight.statusCode, 204);
  assert.equal(preflight.headers["access-control-allow-origin"], SHOP);
  assert.match(String(preflight.headers["access-control-allow-methods"]), /POST/);
  assert.match(String(preflight.headers["access-control-allow-headers"]), /authorization/);

  const claim = await app.inject({
    method: "POST",
    url: `/v1/campaigns/${id}/claims`,
    headers: { origin: SHOP },
    payload: { userId: "u" },
  });
  assert.equal(claim.statusCode, 202);
  assert.equal(claim.headers["access-control-allow-origin"], SHOP);
  const error = await app.inject({ method: "GET", url: "/v1/campaigns/nope", headers: { origin: SHOP } });
  assert.equal(error.statusCode, 404);
  assert.equal(error.headers["access-control-allow-origin"], SHOP, "errors are readable by the page too");
  const unknown = await app.inject({ method: "GET", url: "/nowhere", headers: { origin: SHOP } });
  assert.equal(unknown.json().error, "not_found", "the preflight route does not swallow unknown routes");
});

test("CORS_ORIGINS=* allows any origin, without credentials", async (t) => {
  const { app } = await embeddedApp(t, { app: { corsOrigins: ["*"] } });
  const res = await app.inject({
    method: "GET",
    url: "/healthz",
    headers: { origin: "https://any.example" },
  });
  assert.equal(res.headers["access-control-allow-origin"], "*");
  assert.equal(res.headers["access-control-allow-credentials"], undefined);
});
