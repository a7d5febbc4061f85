import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { userHasher, userHashKey } from "../../src/domain/user-hash.ts";
import { ADMIN_TOKEN } from "../helpers/embedded-app.ts";
import { actor, embeddedPorts, rejectsWith } from "../helpers/embedded-ports.ts";
import { eventually } from "../helpers/wait.ts";

const ip = "127.0.0.1";

test("erasure anonymises the user's issued claims, forgets the user, and audits it by hash", async (t) => {
  const { services, worker, ledger } = await embeddedPorts(t);
  await services.campaigns.create({ id: "c", name: "C", stock: 5, perUserLimit: 2 });
  for (const userId of ["alice", "alice", "bob"])
    await services.claims.claim({ campaignId: "c", userId, clientIp: ip });
  worker.start();
  await eventually(async () => (await ledger.issuedCount("c")) === 3);

  assert.deepEqual(await services.erasure.erase("c", "alice", actor), { erased: 2 });
  assert.deepEqual(await ledger.userClaims("c", "alice"), []);
  assert.deepEqual(await services.claims.userClaims("c", "alice"), []);
  const [entry] = await services.lifecycle.auditLog("c", 0, 10);
  assert.deepEqual(
    [entry?.action, entry?.actor, entry?.details],
    ["erase_user", actor.actor, { user: userHasher(userHashKey(ADMIN_TOKEN))("alice"), claims: 2 }],
  );
  // Forgotten: the user may claim again; the erased units stay consumed.
  await services.claims.claim({ campaignId: "c", userId: "alice", clientIp: ip });
  assert.deepEqual((await services.campaigns.get("c")).counts.remaining, 1);
  await rejectsWith(services.erasure.erase("nope", "alice", actor), "campaign_not_found");
});

test("erasure waits for a claim still being issued, woken when it is, then completes", async (t) => {
  const { services, worker, admission } = await embeddedPorts(t, { requestTimeoutMs: 5000 });
  await services.campaigns.create({ id: "c", name: "C", stock: 5 });
  const claim = await services.claims.claim({ campaignId: "c", userId: "carol", clientIp: ip });
  let asked = 0;
  const forget = admission.forgetUser.bind(admission);
  admission.forgetUser = (campaignId, userId) => {
    asked++;
    return forget(campaignId, userId);
  };

  const started = performance.now();
  const erasing = services.erasure.erase("c", "carol", actor);
  await sleep(300);
  worker.start();
  assert.deepEqual(await erasing, { erased: 1 });
  const elapsed = performance.now() - started;
  assert.ok(
    elapsed >= 300 && elapsed < 2000,
    `finished once the claim was issued (${elapsed.toFixed(0)} ms)`,
  );
  // Woken by the issue, with a bounded backoff meanwhile: a handful of attempts, not one per 20 ms.
  assert.ok(asked >= 2 && asked <= 8, `admission asked ${asked} times`);
  assert.equal((await services.claims.get(claim.claimId)).userId.startsWith("erased:"), true);
});

test("erasure answers unavailable, with Retry-After, when the claim is not issued in time", async (t) => {
  const { services } = await embeddedPorts(t, { requestTimeoutMs: 200 });
  await services.campaigns.create({ id: "c", name: "C", stock: 5 });
  await services.claims.claim({ campaignId: "c", userId: "dave", clientIp: ip });
  const started = performance.now();
  const error = await rejectsWith(services.erasure.erase("c", "dave", actor), "unavailable");
  const elapsed = performance.now() - started;
  assert.equal(error.retryAfter, 1);
  assert.ok(elapsed >= 200 && elapsed < 1000, `gave up at its deadline (${elapsed.toFixed(0)} ms)`);
});
