import assert from "node:assert/strict";
import { test } from "node:test";
import { admin, assertError, embeddedApp } from "../helpers/embedded-app.ts";

/**
 * The shards option of POST /v1/campaigns (docs/api.md "Create a campaign (admin)")
 * over the embedded mode, through inject(): validated by the contract's
 * error shape, shown by GET, refused with holds or a waiting room.
 */
const create = (payload: Record<string, unknown>) =>
  ({ method: "POST", url: "/v1/campaigns", headers: admin, payload }) as const;

test("shards: 1..16, shown by GET when above 1; not with holdSeconds or waitingRoom (400 naming why)", {
  timeout: 30_000,
}, async (t) => {
  const { app } = await embeddedApp(t);
  for (const bad of [0, 17, 2.5, "8", null]) {
    const res = await app.inject(create({ name: "S", stock: 5, shards: bad }));
    assertError(res, 400, "invalid_request");
    assert.match(res.json().message, /shards/, `shards ${JSON.stringify(bad)}`);
  }
  const made = await app.inject(create({ id: "hot", name: "S", stock: 5, shards: 8 }));
  assert.equal(made.statusCode, 201);
  assert.equal(made.json().shards, 8);
  assert.equal((await app.inject({ method: "GET", url: "/v1/campaigns/hot" })).json().shards, 8);
  const one = await app.inject(create({ id: "one", name: "S", stock: 5, shards: 1 }));
  assert.equal("shards" in one.json(), false, "one shard shows as before shards");

  const holds = await app.inject(create({ name: "S", stock: 5, shards: 2, holdSeconds: 60 }));
  assertError(holds, 400, "invalid_request");
  assert.match(holds.json().message, /holdSeconds/);
  const startsAt = new Date(Date.now() + 60_000).toISOString();
  const room = await app.inject(
    create({ name: "S", stock: 5, shards: 2, startsAt, waitingRoom: { prequeueSeconds: 60 } }),
  );
  assertError(room, 400, "invalid_request");
  assert.match(room.json().message, /waitingRoom/);
});
