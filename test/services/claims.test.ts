import assert from "node:assert/strict";
import { test } from "node:test";
import { MemoryRateLimiter } from "../../src/adapters/memory/memory-rate-limiter.ts";
import { parseRate } from "../../src/domain/rate-policy.ts";
import type { Claim } from "../../src/domain/types.ts";
import type { AdmissionStore } from "../../src/ports/admission.ts";
import { ClaimLookup } from "../../src/services/claims.ts";
import { embeddedPorts, rejectsWith } from "../helpers/embedded-ports.ts";
import { eventually } from "../helpers/wait.ts";

const ip = "127.0.0.1";
const UNKNOWN = "AAAAAAAAAAAAAAAAAAAAAA";

test("claim: 404 before the rate limiter, 429 with retryAfter before admission decides", async (t) => {
  const asked: string[] = [];
  const { services } = await embeddedPorts(t, {
    rateLimiter: {
      check: async (_campaignId, userId) => {
        asked.push(userId);
        return userId === "hammer" ? 3 : undefined;
      },
    },
  });
  await services.campaigns.create({ id: "c", name: "C", stock: 1 });
  await rejectsWith(
    services.claims.claim({ campaignId: "nope", userId: "hammer", clientIp: ip }),
    "campaign_not_found",
  );
  assert.deepEqual(asked, [], "an unknown campaign costs no limiter call");
  const limited = await rejectsWith(
    services.claims.claim({ campaignId: "c", userId: "hammer", clientIp: ip }),
    "rate_limited",
  );
  assert.equal(limited.retryAfter, 3);
  assert.equal((await services.campaigns.get("c")).counts.pending, 0, "nothing admitted");
});

test("claim: a repeat of an Idempotency-Key already answered is answered as before, never 429", async (t) => {
  const limiter = new MemoryRateLimiter({ user: parseRate("1/m", "RATE_LIMIT_USER") });
  t.after(() => limiter.close());
  const { services } = await embeddedPorts(t, { rateLimiter: limiter });
  await services.campaigns.create({ id: "c", name: "C", stock: 5 });
  const request = { campaignId: "c", userId: "u", clientIp: ip, idempotencyKey: "k" };
  const first = await services.claims.claim(request);
  await rejectsWith(services.claims.claim({ ...request, idempotencyKey: undefined }), "rate_limited");
  for (let i = 0; i < 3; i++) assert.equal((await services.claims.claim(request)).claimId, first.claimId);
  await rejectsWith(services.claims.claim({ ...request, idempotencyKey: "k2" }), "rate_limited");
});

test("claim: 410 and 403 to a user without a claim come before the limiter; a holder is limited, then 409", async (t) => {
  const limiter = new MemoryRateLimiter({ user: parseRate("1/m", "RATE_LIMIT_USER") });
  t.after(() => limiter.close());
  const { services } = await embeddedPorts(t, { rateLimiter: limiter });
  await services.campaigns.create({ id: "c", name: "C", stock: 1 });
  await services.campaigns.create({ id: "later", name: "L", stock: 1, startsAt: Date.now() + 3_600_000 });
  await services.claims.claim({ campaignId: "c", userId: "alice", clientIp: ip });
  for (let i = 0; i < 5; i++) {
    await rejectsWith(services.claims.claim({ campaignId: "c", userId: "bob", clientIp: ip }), "sold_out");
    await rejectsWith(
      services.claims.claim({ campaignId: "later", userId: "bob", clientIp: ip }),
      "campaign_not_active",
    );
  }
  await rejectsWith(
    services.claims.claim({ campaignId: "c", userId: "alice", clientIp: ip }),
    "rate_limited",
  );
});

test("claim: admitted, then already_claimed naming the claim, then sold_out for others", async (t) => {
  const { services } = await embeddedPorts(t);
  await services.campaigns.create({ id: "c", name: "C", stock: 1 });
  const claim = await services.claims.claim({ campaignId: "c", userId: "alice", clientIp: ip });
  assert.equal(claim.status, "pending");
  const again = await rejectsWith(
    services.claims.claim({ campaignId: "c", userId: "alice", clientIp: ip }),
    "already_claimed",
  );
  assert.deepEqual(again.fields, { claimId: claim.claimId, status: "pending" });
  await rejectsWith(services.claims.claim({ campaignId: "c", userId: "bob", clientIp: ip }), "sold_out");
});

test("claim: campaign_not_active names its reason", async (t) => {
  const { services } = await embeddedPorts(t);
  await services.campaigns.create({ id: "later", name: "L", stock: 1, startsAt: Date.now() + 3_600_000 });
  const refused = await rejectsWith(
    services.claims.claim({ campaignId: "later", userId: "u", clientIp: ip }),
    "campaign_not_active",
  );
  assert.deepEqual(refused.fields, { reason: "not_started" });
});

test("get and userClaims: admission first, the ledger for what admission no longer holds", async (t) => {
  const { services, worker, admission, ledger } = await embeddedPorts(t);
  await services.campaigns.create({ id: "c", name: "C", stock: 5 });
  const claim = await services.claims.claim({ campaignId: "c", userId: "u", clientIp: ip });
  assert.equal((await services.claims.get(claim.claimId)).status, "pending");
  worker.start();
  await eventually(async () => (await services.claims.get(claim.claimId)).status === "issued");
  await rejectsWith(services.claims.get(UNKNOWN), "claim_not_found");
  await rejectsWith(services.claims.userClaims("nope", "u"), "campaign_not_found");

  // Distributed mode drops issued claims from Redis: the ledger answers for them.
  const lookup = new ClaimLookup({ admission: forgetful(admission), ledger });
  assert.equal((await lookup.find(claim.claimId))?.couponCode, claim.couponCode);
  assert.deepEqual(
    (await lookup.findMany([claim.claimId, UNKNOWN])).map((c) => c.claimId),
    [claim.claimId],
  );
});

test("a ledger that fails makes a claim it may hold unavailable (503), never claim_not_found", async (t) => {
  const { services, ledger } = await embeddedPorts(t);
  await services.campaigns.create({ id: "c", name: "C", stock: 1 });
  const refused = async () => Promise.reject(new Error("connection refused"));
  ledger.findClaim = refused;
  ledger.userClaims = refused;
  // Admission does not hold these: only the ledger could say whether they exist.
  const error = await rejectsWith(services.claims.get(UNKNOWN), "unavailable");
  assert.equal(error.retryAfter, 1);
  assert.match((error.cause as Error).message, /connection refused/);
  await rejectsWith(services.claims.userClaims("c", "nobody"), "unavailable");
  const watchers = await rejectsWith(services.claims.watch(UNKNOWN), "unavailable");
  assert.equal(watchers.retryAfter, 1);
});

test("watch: the status at once, then the change to issued; a read that fails unsubscribes", async (t) => {
  const { services, worker, notifier } = await embeddedPorts(t);
  await services.campaigns.create({ id: "c", name: "C", stock: 1 });
  const claim = await services.claims.claim({ campaignId: "c", userId: "u", clientIp: ip });
  const watched = await services.claims.watch(claim.claimId);
  assert.equal(watched.current.status, "pending");
  const seen: Claim[] = [];
  watched.listen((c) => seen.push(c));
  worker.start();
  await eventually(() => seen.some((c) => c.status === "issued"));
  watched.stop();

  const subscribe = notifier.subscribe.bind(notifier);
  let live = 0;
  notifier.subscribe = async (id, listener) => {
    live++;
    const unsubscribe = await subscribe(id, listener);
    return () => {
      live--;
      unsubscribe();
    };
  };
  await rejectsWith(services.claims.watch(UNKNOWN), "claim_not_found");
  assert.equal(live, 0, "the subscription went with the failed read");
});

/** Admission that holds no claim any more, as Redis once a claim is issued and retired. */
function forgetful(inner: AdmissionStore): AdmissionStore {
  return new Proxy(inner, {
    get(target, prop) {
      if (prop === "getClaim") return async () => undefined;
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

test("an unknown claim id costs one read of each store per TTL, however often and however concurrently asked", {
  timeout: 30_000,
}, async (t) => {
  const { services, admission, ledger } = await embeddedPorts(t);
  await services.campaigns.create({ id: "c", name: "C", stock: 1 });
  const reads = { admission: 0, ledger: 0 };
  const counted = new Proxy(admission, {
    get(target, prop) {
      if (prop === "getClaim")
        return (id: string) => {
          reads.admission++;
          return target.getClaim(id);
        };
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const findClaim = ledger.findClaim.bind(ledger);
  ledger.findClaim = (id) => {
    reads.ledger++;
    return findClaim(id);
  };
  const lookup = new ClaimLookup({ admission: counted, ledger }, { maxSize: 100, ttlMs: 300 });

  // 50 at once, then 50 one after the other: one read each.
  const concurrent = await Promise.all(Array.from({ length: 50 }, () => lookup.find(UNKNOWN)));
  assert.ok(concurrent.every((c) => c === undefined));
  for (let i = 0; i < 50; i++) assert.equal(await lookup.find(UNKNOWN), undefined);
  assert.deepEqual(reads, { admission: 1, ledger: 1 });

  // Once the TTL ran out, the stores are asked again.
  await new Promise((r) => setTimeout(r, 350));
  assert.equal(await lookup.find(UNKNOWN), undefined);
  assert.deepEqual(reads, { admission: 2, ledger: 2 });

  // The bound holds: 1,000 made-up ids in a cache of 100 evict each other, and each still costs one read.
  for (let i = 0; i < 1000; i++) await lookup.find(`made-up-${String(i).padStart(16, "0")}`);
  assert.deepEqual(reads, { admission: 1002, ledger: 1002 });

  // A claim that exists is never remembered as missing, and a failure is not remembered at all.
  const claim = await services.claims.claim({ campaignId: "c", userId: "u", clientIp: ip });
  assert.equal((await lookup.find(claim.claimId))?.claimId, claim.claimId);
  ledger.findClaim = async () => Promise.reject(new Error("connection refused"));
  const other = "BBBBBBBBBBBBBBBBBBBBBB";
  await rejectsWith(lookup.find(other), "unavailable");
  ledger.findClaim = findClaim;
  assert.equal(await lookup.find(other), undefined, "asked again after the failure, and answered");
});
