import assert from "node:assert/strict";
import { test } from "node:test";
import { admin, embeddedApp } from "../../helpers/embedded-app.ts";

/** What a failing probe reports: the kind of detail the public must not see. */
const SECRET_DETAIL = "connect ECONNREFUSED 10.1.2.3:6379 (redis.internal)";

test("/readyz: the public answer says only ready or not ready; dependencies and their errors need the admin token", {
  timeout: 30_000,
}, async (t) => {
  let failing = false;
  const { app } = await embeddedApp(t, {
    ops: {
      readiness: async () => [
        { name: "ledger", ok: true },
        failing ? { name: "redis", ok: false, error: SECRET_DETAIL } : { name: "redis", ok: true },
      ],
    },
  });

  const ready = await app.inject({ method: "GET", url: "/readyz" });
  assert.equal(ready.statusCode, 200);
  assert.deepEqual(ready.json(), { status: "ready" });
  const readyAdmin = await app.inject({ method: "GET", url: "/readyz", headers: admin });
  assert.deepEqual(
    readyAdmin.json().dependencies.map((d: { name: string }) => d.name),
    ["ledger", "redis"],
  );

  failing = true;
  const notReady = await app.inject({ method: "GET", url: "/readyz" });
  assert.equal(notReady.statusCode, 503);
  assert.equal(notReady.headers["retry-after"], "1");
  assert.deepEqual(notReady.json(), { error: "unavailable", message: "Not ready." });
  for (const leak of ["redis", "10.1.2.3", "6379", "ECONNREFUSED", "ledger"])
    assert.ok(!notReady.body.includes(leak), `the public body names ${leak}: ${notReady.body}`);

  const details = await app.inject({ method: "GET", url: "/readyz", headers: admin });
  assert.equal(details.statusCode, 503);
  assert.equal(details.json().message, "Not ready: redis.");
  assert.deepEqual(details.json().dependencies[1], { name: "redis", ok: false, error: SECRET_DETAIL });

  const wrongToken = await app.inject({
    method: "GET",
    url: "/readyz",
    headers: { authorization: "Bearer nope" },
  });
  assert.deepEqual(wrongToken.json(), { error: "unavailable", message: "Not ready." });
});
