import assert from "node:assert/strict";
import { test } from "node:test";
import { pino } from "pino";
import { InFlight, inFlightOf } from "../../../src/http/plugins/in-flight.ts";
import { openEmbedded } from "../../../src/runtime/embedded.ts";
import { createCampaign, embeddedApp, embeddedConfig } from "../../helpers/embedded-app.ts";
import { tempDir } from "../../helpers/tmp.ts";
import { eventually } from "../../helpers/wait.ts";

test("InFlight.waitIdle resolves when the last request leaves, or false at the deadline", async () => {
  const tracker = new InFlight();
  assert.equal(await tracker.waitIdle(Date.now()), true, "idle at once");
  tracker.enter();
  tracker.enter();
  const idle = tracker.waitIdle(Date.now() + 5000);
  tracker.leave();
  setTimeout(() => tracker.leave(), 20);
  assert.equal(await idle, true);
  tracker.enter();
  const started = Date.now();
  assert.equal(await tracker.waitIdle(Date.now() + 50), false);
  assert.ok(Date.now() - started < 1000);
});

test("/readyz answers 503 from the moment shutdown begins", async (t) => {
  const { app, runtime } = await embeddedApp(t);
  assert.equal((await app.inject({ method: "GET", url: "/readyz" })).statusCode, 200);
  runtime.beginShutdown();
  const res = await app.inject({ method: "GET", url: "/readyz" });
  assert.equal(res.statusCode, 503);
  assert.equal(res.json().error, "unavailable");
  assert.equal(res.headers["retry-after"], "1");
});

test("while the app closes, a new request is answered the contract's 503 at once", async (t) => {
  const { app } = await embeddedApp(t);
  await app.ready();
  const tracker = inFlightOf(app);
  assert.ok(tracker, "buildApp installs the tracker");
  tracker.closing = true;
  const res = await app.inject({ method: "POST", url: "/v1/campaigns/any/claims", payload: { userId: "u" } });
  assert.equal(res.statusCode, 503);
  assert.equal(res.json().error, "unavailable");
  assert.equal(res.headers["retry-after"], "1");
  assert.equal(tracker.count, 0, "refused requests are not in flight");
  tracker.closing = false;
});

test("drain: what the worker cannot issue in time stays in the journal and is issued after restart", async (t) => {
  const dataDir = tempDir(t);
  const { app, runtime } = await embeddedApp(t, { dataDir });
  await createCampaign(app, { id: "left", name: "Left", stock: 50 });
  // A stalled worker: claims are admitted (journaled) but not issued.
  await runtime.worker.stop();
  const answers = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      app.inject({ method: "POST", url: "/v1/campaigns/left/claims", payload: { userId: `u${i}` } }),
    ),
  );
  assert.ok(answers.every((a) => a.statusCode === 202));
  const started = Date.now();
  assert.equal(await runtime.drain(Date.now() + 100), 20, "drain gives up at its deadline");
  assert.ok(Date.now() - started < 2000);
  await app.close();
  await runtime.close();

  const again = await openEmbedded(embeddedConfig({ DATA_DIR: dataDir }), pino({ level: "silent" }));
  t.after(() => again.close());
  assert.equal(again.recoveredPending, 20);
  assert.equal(await again.drain(Date.now() + 10_000), 0, "a running worker drains to zero");
  await eventually(async () => (await again.admission.counters("left"))?.issued === 20);
  for (const answer of answers) {
    const { claimId } = answer.json();
    const claim = await again.ledger.findClaim(claimId);
    assert.equal(claim?.status, "issued");
  }
});
