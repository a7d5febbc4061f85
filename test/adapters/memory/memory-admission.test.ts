import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { admin, createCampaign, embeddedApp } from "../../helpers/embedded-app.ts";

/**
 * A SIGKILL leaves the page cache intact, so a crash test cannot tell a
 * synced write from an unsynced one. This test holds the journal's fsync
 * instead and shows that no 202 leaves before its fsync completes.
 */
test("no 202 is sent before the admission's fsync completes", async (t) => {
  let fsyncs = 0;
  let completed = 0;
  let release: (() => void) | undefined;
  const { app, runtime } = await embeddedApp(t, {
    fsync: "always",
    journal: {
      sync: async (file) => {
        fsyncs++;
        await new Promise<void>((r) => (release = r));
        await file.datasync();
        completed++;
      },
    },
  });
  await createCampaign(app, { id: "c", name: "C", stock: 100 });
  let answered = 0;
  const claims = Array.from({ length: 50 }, (_, i) =>
    app
      .inject({ method: "POST", url: "/v1/campaigns/c/claims", payload: { userId: `u${i}` } })
      .then((res) => {
        answered++;
        assert.equal(res.statusCode, 202);
        assert.ok(completed >= 1, "a 202 left before any fsync completed");
        return res;
      }),
  );
  await sleep(200);
  assert.equal(answered, 0, "held fsync: nobody has an answer yet");
  assert.equal(fsyncs, 1, "one fsync covers the whole burst so far");
  // A holder's repeat must not name a claim that is not durable yet: it waits too.
  let heldAnswered = false;
  const held = app
    .inject({ method: "POST", url: "/v1/campaigns/c/claims", payload: { userId: "u0" } })
    .then((res) => {
      heldAnswered = true;
      return res;
    });
  await sleep(50);
  assert.equal(heldAnswered, false);
  // Release fsyncs one by one until everything is answered.
  const pump = setInterval(() => release?.(), 5);
  const results = await Promise.all(claims);
  const heldRes = await held;
  clearInterval(pump);
  assert.equal(results.length, 50);
  assert.equal(heldRes.statusCode, 409, "the holder's repeat waited for durability, then named the claim");
  assert.ok(fsyncs <= 5, `50 claims took ${fsyncs} fsyncs`);
  // Closing with a held fsync would hang: let the rest through.
  const pumpClose = setInterval(() => release?.(), 5);
  t.after(() => clearInterval(pumpClose));
  await runtime.worker.stop();
});

test("a failed fsync answers 503 and readiness reports the journal", async (t) => {
  const { app } = await embeddedApp(t, {
    fsync: "always",
    journal: {
      sync: async () => {
        throw new Error("EIO: disk on fire");
      },
    },
  });
  await createCampaign(app, { id: "c", name: "C", stock: 10 });
  const res = await app.inject({ method: "POST", url: "/v1/campaigns/c/claims", payload: { userId: "u" } });
  assert.equal(res.statusCode, 503);
  assert.equal(res.json().error, "unavailable");
  const ready = await app.inject({ method: "GET", url: "/readyz", headers: admin });
  assert.equal(ready.statusCode, 503);
  assert.match(ready.json().message, /journal/);
});
