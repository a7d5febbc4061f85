import assert from "node:assert/strict";
import { test } from "node:test";
import { ERROR_CODES } from "../../src/domain/errors.ts";
import { HTTP_STATUS } from "../../src/http/plugins/errors.ts";
import { embeddedApp } from "../helpers/embedded-app.ts";

// The contract's catalogue, as docs/api.md "Errors" lists it: the code must not drift from it.
const API_CODES: Record<string, number> = {
  invalid_request: 400,
  unauthorized: 401,
  forbidden: 403,
  campaign_not_active: 403,
  not_found: 404,
  campaign_not_found: 404,
  claim_not_found: 404,
  task_not_found: 404,
  ticket_not_found: 404,
  method_not_allowed: 405,
  campaign_exists: 409,
  already_claimed: 409,
  already_confirmed: 409,
  sold_out: 410,
  hold_expired: 410,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  unavailable: 503,
  unknown_task_type: 400,
};

test("the catalogue holds exactly the codes of docs/api.md with their statuses", () => {
  assert.deepEqual(Object.fromEntries(ERROR_CODES.map((code) => [code, HTTP_STATUS[code]])), API_CODES);
});

test("the OpenAPI document and the catalogue agree", async (t) => {
  const { app } = await embeddedApp(t);
  const res = await app.inject({ method: "GET", url: "/docs/json" });
  assert.equal(res.statusCode, 200);
  const doc = res.json() as {
    components: { schemas: Record<string, { properties: { error: { enum: string[] } } }> };
    paths: Record<string, Record<string, { responses: Record<string, { description?: string }> }>>;
  };
  // The Error schema's enum is the catalogue.
  assert.deepEqual([...doc.components.schemas.Error!.properties.error.enum].sort(), [...ERROR_CODES].sort());

  // Every documented error response names catalogue codes under their own status.
  const documented = new Set<string>();
  for (const [path, operations] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      for (const [status, response] of Object.entries(operation.responses ?? {})) {
        if (Number(status) < 400) continue;
        const codes = [...(response.description ?? "").matchAll(/`([a-z_]+)`/g)].map((m) => m[1]!);
        assert.ok(codes.length > 0, `${method} ${path} ${status} names no error code`);
        for (const code of codes) {
          assert.ok(code in HTTP_STATUS, `${method} ${path} documents unknown code ${code}`);
          assert.equal(
            String(HTTP_STATUS[code as keyof typeof HTTP_STATUS]),
            status,
            `${method} ${path}: ${code} under ${status}`,
          );
          documented.add(code);
        }
      }
    }
  }
  // Codes a route of this build can answer are documented somewhere. The
  // router-level codes (not_found, method_not_allowed) and the task codes
  // belong to no single documented route of the claim API.
  const routeLevel = new Set(["not_found", "method_not_allowed"]);
  const taskCodes = new Set(["unknown_task_type", "task_not_found"]);
  const hasTasks = Object.keys(doc.paths).some((p) => p.startsWith("/v1/tasks"));
  for (const code of ERROR_CODES) {
    if (routeLevel.has(code) || (!hasTasks && taskCodes.has(code))) continue;
    assert.ok(documented.has(code), `no route documents ${code}`);
  }
});
