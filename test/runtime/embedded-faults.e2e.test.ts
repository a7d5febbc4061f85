import assert from "node:assert/strict";
import { test } from "node:test";
import { ADMIN_TOKEN, admin, createCampaign, embeddedApp } from "../helpers/embedded-app.ts";
import { type Answer, countBy, createClient } from "../helpers/load.ts";
import { startServer } from "../helpers/server-process.ts";
import { tempDir } from "../helpers/tmp.ts";
import { eventually } from "../helpers/wait.ts";

/**
 * docs/guarantees.md, embedded mode: what a 202 survives, tried for real.
 */

test("kill -9 during a spike: every 202 is issued after restart, with its coupon; invariants 1-4 hold", async (t) => {
  const dataDir = tempDir(t);
  const env = { DATA_DIR: dataDir, ADMIN_TOKEN, FSYNC: "always", RATE_LIMIT_USER: "off" };
  const STOCK = 600;
  const USERS = 1000;
  const first = await startServer("start", env);
  t.after(() => first.stop("SIGKILL"));
  const client1 = createClient(first.url);
  const created = await client1.request({
    method: "POST",
    path: "/v1/campaigns",
    headers: admin,
    body: { id: "crash", name: "crash", stock: STOCK },
  });
  assert.equal(created.status, 201);

  // Fire every user at once, and kill the process once a random share of them has been answered.
  const killAfter = 10 + Math.floor(Math.random() * 100);
  let answered = 0;
  const answers: (Answer & { userId: string })[] = [];
  await Promise.all(
    Array.from({ length: USERS }, async (_, i) => {
      const userId = `user-${i}`;
      const answer = await client1.request(
        { method: "POST", path: "/v1/campaigns/crash/claims", body: { userId } },
        20_000,
      );
      answers.push({ ...answer, userId });
      if (++answered === killAfter) first.child.kill("SIGKILL");
    }),
  );
  client1.close();
  await first.stop("SIGKILL");
  const admitted = answers.filter((a) => a.status === 202);
  t.diagnostic(
    `killed after ${killAfter} answers: ${JSON.stringify(countBy(answers, (a) => a.status || a.error || "none"))}`,
  );
  assert.ok(admitted.length > 0, "some claims were admitted before the kill");

  const second = await startServer("start", env);
  t.after(() => second.stop());
  const client2 = createClient(second.url);
  t.after(() => client2.close());
  const campaign = async () =>
    (await client2.request({ method: "GET", path: "/v1/campaigns/crash" })).body as {
      issued: number;
      pending: number;
      remaining: number;
    };
  await eventually(async () => (await campaign()).pending === 0, 20_000);

  // Invariant 3: every 202 is issued, with the coupon code it was given.
  for (const a of admitted) {
    const claim = await client2.request({ method: "GET", path: `/v1/claims/${a.body.claimId}` });
    assert.equal(claim.status, 200, `claim ${a.body.claimId} of ${a.userId} survived`);
    assert.equal(claim.body.status, "issued");
    assert.equal(claim.body.userId, a.userId);
    assert.match(String(claim.body.couponCode), /^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/);
  }
  const afterCrash = await campaign();
  assert.ok(
    afterCrash.issued >= admitted.length,
    `issued ${afterCrash.issued} >= ${admitted.length} answered 202`,
  );
  assert.ok(afterCrash.issued <= STOCK && afterCrash.remaining >= 0, "invariant 1");

  // Everyone asks again (a client that lost its answer retries): the 202s learn their claim with 409.
  const retries = await client2.fire(
    Array.from({ length: USERS }, (_, i) => ({
      method: "POST",
      path: "/v1/campaigns/crash/claims",
      body: { userId: `user-${i}` },
    })),
    200,
  );
  const byUser = new Map(retries.map((r, i) => [`user-${i}`, r]));
  for (const a of admitted) {
    const again = byUser.get(a.userId)!;
    assert.equal(again.status, 409, `${a.userId} already holds its claim`);
    assert.equal(again.body.claimId, a.body.claimId);
  }
  assert.deepEqual(
    Object.keys(countBy(retries, (r) => r.status)).filter((s) => !["202", "409", "410"].includes(s)),
    [],
    "every retry answered 202, 409 or 410",
  );
  await eventually(async () => (await campaign()).pending === 0, 20_000);
  const final = await campaign();
  // Invariant 4: every user was answered 202/409/410, so issued = min(stock, users).
  assert.equal(final.issued, Math.min(STOCK, USERS));
  assert.equal(final.remaining, 0);
  // Invariant 2: nobody holds two claims.
  const holders = retries.filter((r) => r.status === 409 || r.status === 202).length;
  assert.equal(holders, STOCK, "one claim per holder");
});

test("an fsync failure (disk full, I/O error): no 202 for what is not durable, /readyz fails, admitted claims survive a restart", async (t) => {
  const dataDir = tempDir(t);
  let failing = false;
  const { app, runtime } = await embeddedApp(t, {
    dataDir,
    fsync: "always",
    journal: {
      sync: async (file) => {
        if (failing) throw Object.assign(new Error("ENOSPC: no space left on device"), { code: "ENOSPC" });
        await file.datasync();
      },
    },
  });
  const { id } = await createCampaign(app, { name: "c", stock: 100 });
  const claim = (userId: string) =>
    app.inject({ method: "POST", url: `/v1/campaigns/${id}/claims`, payload: { userId } });
  const before = await claim("before");
  assert.equal(before.statusCode, 202);

  failing = true;
  const during = await Promise.all(["a", "b", "c"].map(claim));
  for (const res of during) {
    assert.equal(res.statusCode, 503, "never a 202 the journal did not make durable");
    assert.equal(res.json().error, "unavailable");
  }
  const later = await claim("later");
  assert.equal(later.statusCode, 503, "the journal refuses appends from the first failure on");
  const ready = await app.inject({ method: "GET", url: "/readyz", headers: admin });
  assert.equal(ready.statusCode, 503);
  assert.match(ready.json().message, /journal/);
  let coupon: string | undefined;
  await eventually(async () => {
    const read = (await app.inject({ method: "GET", url: `/v1/claims/${before.json().claimId}` })).json();
    coupon = read.couponCode;
    return read.status === "issued";
  });
  await app.close();
  await runtime.close();

  // The operator frees the disk and restarts: the 202 is there, issued.
  const restarted = await embeddedApp(t, { dataDir, fsync: "always" });
  const read = await restarted.app.inject({ method: "GET", url: `/v1/claims/${before.json().claimId}` });
  assert.equal(read.statusCode, 200);
  assert.equal(read.json().status, "issued");
  assert.equal(read.json().couponCode, coupon, "the same coupon code");
  assert.equal((await restarted.app.inject({ method: "GET", url: "/readyz" })).statusCode, 200);
  const users = await restarted.app.inject({
    method: "GET",
    url: `/v1/campaigns/${id}/users/before/claims`,
    headers: admin,
  });
  assert.equal(users.json().claims.length, 1);
});
