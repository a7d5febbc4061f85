import assert from "node:assert/strict";
import { test } from "node:test";
import { ADMIN_TOKEN, admin } from "../helpers/embedded-app.ts";
import { type Answer, countBy, createClient } from "../helpers/load.ts";
import { startServer } from "../helpers/server-process.ts";
import { tempDir } from "../helpers/tmp.ts";

const STOCK = 1500;
const USERS = 2000;
const CONCURRENCY = 100;
/** SIGTERM once this many claims are answered: mid-spike. */
const SIGTERM_AFTER = 300;

test("SIGTERM under claim load: drains, exits 0, and nothing admitted is lost across the restart", async (t) => {
  const dataDir = tempDir(t);
  const env = { DATA_DIR: dataDir, ADMIN_TOKEN, LOG_LEVEL: "info", SHUTDOWN_TIMEOUT_MS: "30000" };
  const first = await startServer("start", env, { timeoutMs: 60_000 });
  t.after(() => first.stop("SIGKILL"));
  const setup = createClient(first.url);
  const created = await setup.request({
    method: "POST",
    path: "/v1/campaigns",
    headers: admin,
    body: { id: "drop", name: "Drop", stock: STOCK },
  });
  assert.equal(created.status, 201);
  setup.close();

  // The spike: distinct users, a bounded number in flight, SIGTERM in the middle of it.
  const client = createClient(first.url, CONCURRENCY);
  const answers: Answer[] = [];
  let next = 0;
  let signalled: Promise<number | null> | undefined;
  const lane = async () => {
    while (next < USERS) {
      const user = next++;
      const answer = await client.request({
        method: "POST",
        path: "/v1/campaigns/drop/claims",
        body: { userId: `user-${user}` },
      });
      answers.push(answer);
      if (answers.length === SIGTERM_AFTER) signalled = first.stop("SIGTERM");
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, lane));
  client.close();
  assert.ok(signalled, "SIGTERM was sent mid-spike");
  const exitCode = await signalled;
  assert.equal(exitCode, 0, `graceful exit; output:\n${first.output().slice(-3000)}`);
  assert.match(first.output(), /"msg":"shutting down"/);
  assert.match(first.output(), /"msg":"drained: every admitted claim is issued"/);

  const byStatus = countBy(answers, (a) => a.status);
  const errors = countBy(
    answers.filter((a) => a.error),
    (a) => String(a.error).split(" ")[0]!,
  );
  t.diagnostic(`answers by status ${JSON.stringify(byStatus)}, connection errors ${JSON.stringify(errors)}`);
  const unexpected = Object.keys(byStatus).filter((s) => !["0", "202", "410", "503"].includes(s));
  assert.deepEqual(unexpected, [], `answers by status: ${JSON.stringify(byStatus)}`);
  for (const refused of answers.filter((a) => a.status === 503)) {
    assert.equal(refused.body.error, "unavailable", "503s have the contract's shape");
    assert.equal(refused.headers["retry-after"], "1");
  }
  const admitted = answers.filter((a) => a.status === 202).map((a) => String(a.body.claimId));
  assert.ok(admitted.length >= SIGTERM_AFTER / 2, `admitted before the stop: ${JSON.stringify(byStatus)}`);
  assert.ok(
    answers.some((a) => a.status === 0 || a.status === 503),
    "the stopped server took no more claims",
  );

  // Same DATA_DIR: every 202 is issued, each with its own coupon, nothing left pending.
  const second = await startServer("start", env, { timeoutMs: 60_000 });
  t.after(() => second.stop("SIGKILL"));
  assert.doesNotMatch(second.output(), /journal replayed/, "the drain left nothing for the next start");
  const reader = createClient(second.url, 50);
  const claims = await reader.fire(
    admitted.map((id) => ({ method: "GET", path: `/v1/claims/${id}` })),
    50,
  );
  const notIssued = claims.filter((c) => c.status !== 200 || c.body.status !== "issued");
  assert.deepEqual(
    notIssued.slice(0, 3),
    [],
    `${notIssued.length} of ${admitted.length} 202s are not issued`,
  );
  const coupons = new Set(claims.map((c) => String(c.body.couponCode)));
  assert.equal(coupons.size, admitted.length, "no coupon twice");
  const campaign = (await reader.request({ method: "GET", path: "/v1/campaigns/drop" })).body;
  reader.close();
  assert.equal(campaign.pending, 0);
  assert.ok(Number(campaign.issued) >= admitted.length);
  assert.equal(Number(campaign.issued) + Number(campaign.remaining), STOCK);
  assert.equal(await second.stop("SIGTERM"), 0);
});
