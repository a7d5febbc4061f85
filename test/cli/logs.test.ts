import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { test } from "node:test";
import { pino } from "pino";
import { createLogger } from "../../src/cli/logger.ts";
import { buildApp } from "../../src/http/app.ts";
import { admin, embeddedApp } from "../helpers/embedded-app.ts";

/** A pino logger at `level` whose JSON lines land in an array. */
function capture(level: string) {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split("\n")) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level }, stream), lines };
}

test("no log line per request at info level; an unexpected error is logged with its request id", async (t) => {
  const { runtime } = await embeddedApp(t);
  const { logger, lines } = capture("info");
  const app = await buildApp(runtime.api, { logger });
  t.after(() => app.close());
  await app.ready();
  const before = lines.length;

  const created = await app.inject({
    method: "POST",
    url: "/v1/campaigns",
    headers: admin,
    payload: { id: "logs", name: "Logs", stock: 10 },
  });
  assert.equal(created.statusCode, 201);
  for (let i = 0; i < 20; i++)
    await app.inject({ method: "POST", url: "/v1/campaigns/logs/claims", payload: { userId: `u${i % 12}` } });
  await app.inject({ method: "GET", url: "/nowhere" });
  await app.inject({ method: "GET", url: "/metrics" });
  assert.deepEqual(lines.slice(before), [], "answered requests write nothing at info level");

  // An unexpected failure (not a contract error) is answered 503 and logged once, with the request id.
  runtime.ledger.createCampaign = async () => {
    throw new Error("disk on fire");
  };
  const failed = await app.inject({
    method: "POST",
    url: "/v1/campaigns",
    headers: { ...admin, "x-request-id": "req-from-the-edge-42" },
    payload: { name: "Boom", stock: 1 },
  });
  assert.equal(failed.statusCode, 503);
  assert.equal(failed.headers["x-request-id"], "req-from-the-edge-42");
  const logged = lines.slice(before);
  assert.equal(logged.length, 1, JSON.stringify(logged));
  assert.equal(logged[0]!.level, 50);
  assert.equal(logged[0]!.reqId, "req-from-the-edge-42");
  assert.match(JSON.stringify(logged[0]!.err), /disk on fire/);
  assert.doesNotMatch(JSON.stringify(logged), /test-admin-token/, "the admin token is never logged");
});

test("LOG_LEVEL decides what is written", () => {
  assert.equal(createLogger("warn").isLevelEnabled("info"), false);
  assert.equal(createLogger("warn").isLevelEnabled("warn"), true);
  assert.equal(createLogger("debug").isLevelEnabled("debug"), true);
  assert.equal(createLogger("silent").isLevelEnabled("fatal"), false);
});
