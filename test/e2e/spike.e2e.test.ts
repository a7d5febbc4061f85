import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { type Answer, countBy, createClient, type RequestSpec, waitQuiet } from "../helpers/load.ts";
import { startServer } from "../helpers/server-process.ts";
import { tempDir } from "../helpers/tmp.ts";

const ADMIN = "spike-admin-token-0123456789";
const CONTRACT_CODES = new Set([202, 400, 403, 404, 409, 410, 413, 415, 429, 503]);

/**
 * Connections the client opens. Every request is issued at once; the client
 * carries them over this many sockets, which keeps the test's own process
 * from being what is measured on a 2-core machine (`stampede bench` fires
 * with one connection per request).
 */
const SOCKETS = 2000;

async function startEmbedded(t: Parameters<typeof tempDir>[0]) {
  const server = await startServer("start", { DATA_DIR: tempDir(t), ADMIN_TOKEN: ADMIN, FSYNC: "always" });
  t.after(() => server.stop("SIGKILL"));
  const client = createClient(server.url, SOCKETS);
  t.after(() => client.close());
  return { server, client, url: server.url };
}

/**
 * Samples GET /v1/campaigns/:id until stopped, on a connection of its own so
 * it is not queued behind the spike; invariant 1 says remaining is never negative.
 */
function sampleRemaining(url: string, id: string) {
  const client = createClient(url, 1);
  const samples: { remaining: number; issued: number; pending: number }[] = [];
  let running = true;
  const done = (async () => {
    while (running) {
      const res = await client.request({ method: "GET", path: `/v1/campaigns/${id}` });
      if (res.status === 200) samples.push(res.body as (typeof samples)[number]);
      await sleep(10);
    }
  })();
  return async () => {
    running = false;
    await done;
    client.close();
    return samples;
  };
}

/** Invariant 5: every request answered with a contract code in bounded time, no resets, no 5xx but 503. */
function assertAllAnswered(answers: Answer[]) {
  const errors = answers.filter((a) => a.error);
  assert.deepEqual(errors.slice(0, 3), [], `${errors.length} connection errors`);
  for (const a of answers) {
    assert.ok(CONTRACT_CODES.has(a.status), `status ${a.status}`);
    assert.ok(a.ms < 10_000, `answered in ${a.ms} ms`);
    if (a.status !== 202) assert.equal(typeof a.body.error, "string");
  }
}

async function checkIssued(client: ReturnType<typeof createClient>, admitted: Answer[]) {
  const codes = new Set<string>();
  for (const a of admitted) {
    const claim = (await client.request({ method: "GET", path: `/v1/claims/${a.body.claimId}` })).body;
    assert.equal(claim.status, "issued", `claim ${a.body.claimId} not issued`);
    codes.add(String(claim.couponCode));
  }
  assert.equal(codes.size, admitted.length, "no coupon code twice");
}

describe("a 10,000-user spike against one embedded server", () => {
  test("stock 100, all at once: exactly 100 issued, nobody twice, every request answered", async (t) => {
    const { client, url } = await startEmbedded(t);
    const users = 10_000;
    const create = await client.request({
      method: "POST",
      path: "/v1/campaigns",
      headers: { authorization: `Bearer ${ADMIN}` },
      body: { id: "spike", name: "Spike", stock: 100 },
    });
    assert.equal(create.status, 201);

    const stopSampling = sampleRemaining(url, "spike");
    const specs: RequestSpec[] = Array.from({ length: users }, (_, i) => ({
      method: "POST",
      path: "/v1/campaigns/spike/claims",
      body: { userId: `user-${i}` },
    }));
    const started = performance.now();
    const answers = await client.fire(specs);
    const seconds = (performance.now() - started) / 1000;
    const samples = await stopSampling();

    assertAllAnswered(answers);
    const byStatus = countBy(answers, (a) => a.status);
    t.diagnostic(`answers ${JSON.stringify(byStatus)} in ${seconds.toFixed(2)} s, ${samples.length} samples`);
    // Invariant 1: never over-issued, at any instant sampled.
    assert.ok(samples.length > 3, "sampled during the spike");
    for (const s of samples) assert.ok(s.remaining >= 0 && s.issued + s.pending <= 100);
    const admitted = answers.filter((a) => a.status === 202);
    assert.equal(admitted.length, 100);
    // Invariant 2: distinct users, each admitted at most once.
    assert.equal(new Set(admitted.map((a) => a.body.userId)).size, 100);
    // Invariant 4: the rest were told sold_out, and the ledger holds min(stock, users).
    assert.equal(byStatus["410"], users - 100);
    const quiet = await waitQuiet(client, "spike");
    assert.deepEqual([quiet.issued, quiet.remaining], [100, 0]);
    await checkIssued(client, admitted);
  });

  test("with 10% duplicate re-sends and repeated Idempotency-Keys", async (t) => {
    const { client } = await startEmbedded(t);
    await client.request({
      method: "POST",
      path: "/v1/campaigns",
      headers: { authorization: `Bearer ${ADMIN}` },
      body: { id: "dups", name: "Dups", stock: 100 },
    });
    const users = 10_000;
    const specs: RequestSpec[] = [];
    for (let i = 0; i < users; i++)
      specs.push({
        method: "POST",
        path: "/v1/campaigns/dups/claims",
        body: { userId: `user-${i}` },
        headers: { "idempotency-key": `key-${i}` },
      });
    // 10% re-sends: half repeat the key (must get the same answer), half send without one.
    for (let i = 0; i < users / 10; i++) {
      const j = (i * 7919) % users;
      specs.push({
        method: "POST",
        path: "/v1/campaigns/dups/claims",
        body: { userId: `user-${j}` },
        headers: i % 2 === 0 ? { "idempotency-key": `key-${j}` } : {},
      });
    }
    const answers = await client.fire(specs);
    assertAllAnswered(answers);
    const admitted = answers.filter((a) => a.status === 202);
    const claimIds = new Set(admitted.map((a) => String(a.body.claimId)));
    assert.equal(claimIds.size, 100, "exactly the stock admitted, counting replays once");
    // Invariant 2: each user holds at most one claim.
    const holders = countBy(
      [...new Map(admitted.map((a) => [a.body.claimId, a.body.userId])).values()],
      (u) => String(u),
    );
    assert.ok(Object.values(holders).every((n) => n === 1));
    // A repeated key got exactly the first answer.
    for (let i = 0; i < users / 10; i += 2) {
      const j = (i * 7919) % users;
      const first = answers[j]!;
      const repeat = answers[users + i]!;
      if (first.status === 429 || repeat.status === 429) continue;
      assert.equal(repeat.status, first.status, `user-${j}`);
      if (first.status === 202) assert.equal(repeat.body.claimId, first.body.claimId);
    }
    const quiet = await waitQuiet(client, "dups");
    assert.deepEqual([quiet.issued, quiet.remaining], [100, 0]);
    await checkIssued(client, [...new Map(admitted.map((a) => [a.body.claimId, a])).values()]);
  });
});
