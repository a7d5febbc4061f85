import assert from "node:assert/strict";
import { test } from "node:test";
import { ADMIN_TOKEN, createCampaign, embeddedApp } from "../helpers/embedded-app.ts";

/**
 * Every route in the OpenAPI document that is not on this list must refuse a
 * request without the admin token. A new route is therefore admin-only until
 * someone adds it here on purpose (docs/api.md names every public route).
 */
const PUBLIC = new Set([
  "GET /healthz",
  "GET /readyz",
  "GET /metrics",
  "GET /",
  "GET /v1/campaigns/{id}",
  "POST /v1/campaigns/{id}/claims",
  "GET /v1/claims/{claimId}",
  "GET /v1/claims/{claimId}/events",
  "POST /v1/campaigns/{id}/queue",
  "GET /v1/campaigns/{id}/queue/{ticketId}",
  "GET /v1/campaigns/{id}/queue/{ticketId}/events",
  "GET /v1/campaigns/{id}/draw",
]);

const SAMPLE_PARAMS: Record<string, string> = {
  id: "campaign-1",
  userId: "alice",
  claimId: "AAAAAAAAAAAAAAAAAAAAAA",
  taskId: "AAAAAAAAAAAAAAAAAAAAAA",
};

/** Ways of almost presenting the token. */
const WRONG: Record<string, string>[] = [
  {},
  { authorization: "" },
  { authorization: "Bearer" },
  { authorization: "Bearer " },
  { authorization: `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString("base64")}` },
  { authorization: `Bearer ${ADMIN_TOKEN.slice(0, -1)}` },
  { authorization: `Bearer ${ADMIN_TOKEN}x` },
  { authorization: `Bearer ${ADMIN_TOKEN.toUpperCase()}` },
  { authorization: `Token ${ADMIN_TOKEN}` },
  { authorization: `Bearer ${ADMIN_TOKEN} ${ADMIN_TOKEN}` },
  { "x-admin-token": ADMIN_TOKEN },
  { cookie: `stampede_token=${ADMIN_TOKEN}` },
];

test("no admin route answers without the admin token", async (t) => {
  const { app } = await embeddedApp(t);
  await createCampaign(app, { id: "campaign-1", name: "c", stock: 5 });
  await app.ready();
  const doc = app.swagger() as { paths: Record<string, Record<string, unknown>> };
  const adminRoutes: string[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const method of Object.keys(methods)) {
      const route = `${method.toUpperCase()} ${path}`;
      if (PUBLIC.has(route) || method === "head") continue;
      adminRoutes.push(route);
      const url = path.replace(/\{(\w+)\}/g, (_, name: string) => SAMPLE_PARAMS[name] ?? "x");
      for (const headers of WRONG) {
        for (const query of ["", `?token=${ADMIN_TOKEN}`]) {
          const res = await app.inject({
            method: method.toUpperCase() as "GET",
            url: url + query,
            headers,
            ...(method === "get" ? {} : { payload: { name: "n", stock: 1 } }),
          });
          assert.equal(res.statusCode, 401, `${route} with ${JSON.stringify(headers)}${query}: ${res.body}`);
          assert.equal(res.json().error, "unauthorized");
        }
      }
      // An event stream that accepts the token never ends (inject would wait
      // forever); the 401s above are what this test is about.
      if (JSON.stringify(methods[method]).includes("text/event-stream")) continue;
      const ok = await app.inject({
        method: method.toUpperCase() as "GET",
        url,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        ...(method === "get" ? {} : { payload: { name: "n", stock: 1 } }),
      });
      assert.notEqual(ok.statusCode, 401, `${route} takes the token`);
    }
  }
  for (const known of [
    "POST /v1/campaigns",
    "GET /v1/campaigns",
    "GET /v1/campaigns/{id}/users/{userId}/claims",
  ])
    assert.ok(
      adminRoutes.includes(known),
      `${known} is among the admin routes checked (${adminRoutes.join(", ")})`,
    );
});
