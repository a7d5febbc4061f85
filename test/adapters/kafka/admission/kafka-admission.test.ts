import assert from "node:assert/strict";
import { test } from "node:test";
import { pino } from "pino";
import { Breaker } from "../../../../src/adapters/kafka/admission/breaker.ts";
import { KafkaAdmission } from "../../../../src/adapters/kafka/admission/kafka-admission.ts";
import type { Outbox } from "../../../../src/adapters/kafka/admission/outbox.ts";
import { StampedeError } from "../../../../src/domain/errors.ts";
import type { Claim } from "../../../../src/domain/types.ts";
import type { AdmissionStore, AdmitOutcome, HoldOutcome } from "../../../../src/ports/admission.ts";

/**
 * KafkaAdmission's own decisions, around a scripted Redis admission: when a
 * 202 waits for Kafka, what a failed produce answers, and the breaker. (The
 * whole path with Redis, Kafka and PostgreSQL runs in test/runtime/kafka/.)
 */
const claim = (id: string, status: Claim["status"] = "pending"): Claim => ({
  claimId: id,
  campaignId: "c",
  userId: `user-${id}`,
  seq: 1,
  unit: 1,
  couponCode: "CODE",
  admittedAt: 1,
  status,
});

function setup(outcomes: AdmitOutcome[], options: { inOutbox?: Set<string>; failPublish?: boolean } = {}) {
  const events: string[] = [];
  const inner = {
    admit: async () => {
      events.push("reserve");
      const next = outcomes.shift();
      if (!next) throw new StampedeError("unavailable", "Redis did not answer.", { retryAfter: 1 });
      return next;
    },
  } as unknown as AdmissionStore;
  const outbox = {
    remove: async (claims: Claim[]) => {
      events.push(`remove ${claims.map((c) => c.claimId).join(",")}`);
    },
    holds: async (c: Claim) => options.inOutbox?.has(c.claimId) ?? false,
  } as unknown as Outbox;
  let now = 0;
  const breaker = new Breaker({ baseMs: 1000, now: () => now });
  const admission = new KafkaAdmission({
    inner,
    outbox,
    publish: async (claims) => {
      events.push(`publish ${claims.map((c) => c.claimId).join(",")}`);
      if (options.failPublish) throw new Error("broker down");
    },
    logger: pino({ level: "silent" }),
    slowMs: 5000,
    breaker,
  });
  return { admission, events, breaker, advance: (ms: number) => (now += ms) };
}

const request = { campaignId: "c", userId: "u" };

test("a 202 only once Kafka acknowledged; then the claim leaves the outbox", async () => {
  const { admission, events } = setup([{ kind: "admitted", claim: claim("a"), replayed: false }]);
  const outcome = await admission.admit(request);
  assert.equal(outcome.kind, "admitted");
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(events, ["reserve", "publish a", "remove a"]);
});

test("Kafka not acknowledging: 503 (the reservation stays for the relay), then 503 at once with nothing reserved", async () => {
  const { admission, events, advance } = setup(
    [
      { kind: "admitted", claim: claim("a"), replayed: false },
      { kind: "admitted", claim: claim("b"), replayed: false },
    ],
    { failPublish: true },
  );
  await assert.rejects(
    admission.admit(request),
    (e: StampedeError) => e.code === "unavailable" && /stays reserved/.test(e.message),
  );
  await assert.rejects(admission.admit(request), (e: StampedeError) =>
    /nothing was reserved/.test(e.message),
  );
  assert.deepEqual(events, ["reserve", "publish a"], "the second claim never reached Redis");
  advance(1000);
  await assert.rejects(admission.admit(request), /stays reserved/);
  assert.deepEqual(events, ["reserve", "publish a", "reserve", "publish b"], "one probe after the wait");
});

test("a probe answered 409 (no Kafka needed) does not leave the breaker stuck", async () => {
  const holder = claim("h");
  const { admission, breaker, advance, events } = setup([
    { kind: "already_claimed", claim: holder, replayed: false },
    { kind: "admitted", claim: claim("n"), replayed: false },
  ]);
  breaker.failure();
  advance(1000);
  assert.equal((await admission.admit(request)).kind, "already_claimed");
  assert.equal((await admission.admit(request)).kind, "admitted", "the next claim may probe");
  assert.ok(breaker.isClosed, "its acknowledgement closed the breaker");
  assert.ok(events.includes("publish n"));
});

test("a replayed admission (lost answer, same Idempotency-Key) is produced again only while it is in the outbox", async () => {
  const a = claim("a");
  const b = claim("b");
  const { admission, events } = setup(
    [
      { kind: "admitted", claim: a, replayed: true },
      { kind: "admitted", claim: b, replayed: true },
      { kind: "admitted", claim: claim("c", "issued"), replayed: true },
    ],
    { inOutbox: new Set(["a"]) },
  );
  await admission.admit(request);
  await admission.admit(request);
  await admission.admit(request);
  await new Promise((r) => setImmediate(r));
  // The removal goes at the end of the turn, with whatever else was acknowledged in it.
  assert.deepEqual(events, ["reserve", "publish a", "reserve", "reserve", "remove a"]);
});

test("what the process knows is answered before the breaker: no Redis, no Kafka", async () => {
  const { admission, events, breaker } = setup([]);
  const soldOut: AdmitOutcome = { kind: "sold_out", replayed: false };
  const inner = { known: (r: { userId: string }) => (r.userId === "late" ? soldOut : undefined) };
  const known = new KafkaAdmission({
    inner: Object.assign(Object.create(null), { admit: async () => assert.fail("asked Redis") }, inner),
    outbox: {} as Outbox,
    publish: async () => assert.fail("asked Kafka"),
    logger: pino({ level: "silent" }),
    slowMs: 5000,
    breaker,
  });
  breaker.failure();
  assert.deepEqual(await known.admit({ campaignId: "c", userId: "late" }), soldOut);
  assert.equal(known.known({ campaignId: "c", userId: "late" }), soldOut);
  await assert.rejects(
    admission.admit(request),
    /nothing was reserved/,
    "anything else meets the open breaker",
  );
  assert.deepEqual(events, []);
});

test("the claims one produce request acknowledged leave the outbox in one removal", async () => {
  const outcomes: AdmitOutcome[] = ["a", "b", "c"].map((id) => ({
    kind: "admitted",
    claim: claim(id),
    replayed: false,
  }));
  const { admission, events } = setup(outcomes);
  await Promise.all([admission.admit(request), admission.admit(request), admission.admit(request)]);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(
    events.filter((e) => e.startsWith("remove")),
    ["remove a,b,c"],
  );
});

/** Holds: confirm and release take the 202's path; expiries are forwarded, never waited on. */
function holdSetup(outcomes: HoldOutcome[], options: { inOutbox?: Set<string>; failPublish?: boolean } = {}) {
  const events: string[] = [];
  const next = async () => {
    events.push("decide");
    const outcome = outcomes.shift();
    if (!outcome) throw new StampedeError("unavailable", "Redis did not answer.", { retryAfter: 1 });
    return outcome;
  };
  const expired: Claim[] = [];
  const inner = {
    confirm: next,
    release: next,
    reapExpired: async () => ({ expired: expired.splice(0), nextDueAt: null }),
  } as unknown as AdmissionStore;
  const outbox = {
    remove: async (claims: Claim[]) => {
      events.push(`remove ${claims.map((c) => `${c.claimId}:${c.status}`).join(",")}`);
    },
    holds: async (c: Claim) => options.inOutbox?.has(c.claimId) ?? false,
  } as unknown as Outbox;
  let now = 0;
  const breaker = new Breaker({ baseMs: 1000, now: () => now });
  const admission = new KafkaAdmission({
    inner,
    outbox,
    publish: async (claims) => {
      events.push(`publish ${claims.map((c) => `${c.claimId}:${c.status}`).join(",")}`);
      if (options.failPublish) throw new Error("broker down");
    },
    logger: pino({ level: "silent" }),
    slowMs: 5000,
    breaker,
  });
  return { admission, events, breaker, expired, advance: (ms: number) => (now += ms) };
}

const turn = () => new Promise((r) => setImmediate(r));

test("holds: a confirm or release is answered only once Kafka acknowledged its snapshot; then it leaves the outbox", async () => {
  const { admission, events } = holdSetup([
    { kind: "confirmed", claim: claim("a", "issued"), replayed: false },
    { kind: "released", claim: claim("b", "released"), replayed: false },
  ]);
  assert.equal((await admission.confirm("a")).kind, "confirmed");
  assert.equal((await admission.release("b")).kind, "released");
  await turn();
  assert.deepEqual(events, [
    "decide",
    "publish a:issued",
    "decide",
    "publish b:released",
    "remove a:issued,b:released",
  ]);
});

test("holds: Kafka not acknowledging a confirm: 503 (the decision stands, the relay sends it), then 503 at once, nothing decided", async () => {
  const { admission, events, advance } = holdSetup(
    [
      { kind: "confirmed", claim: claim("a", "issued"), replayed: false },
      { kind: "confirmed", claim: claim("b", "issued"), replayed: false },
    ],
    { failPublish: true },
  );
  await assert.rejects(
    admission.confirm("a"),
    (e: StampedeError) => e.code === "unavailable" && /decision; it stands/.test(e.message),
  );
  await assert.rejects(admission.release("b"), /nothing was decided/);
  assert.deepEqual(events, ["decide", "publish a:issued"]);
  advance(1000);
  await assert.rejects(admission.confirm("b"), /decision; it stands/);
  assert.deepEqual(
    events,
    ["decide", "publish a:issued", "decide", "publish b:issued"],
    "one probe after the wait",
  );
});

test("holds: a repeated confirm is produced again only while its decision is in the outbox", async () => {
  const { admission, events } = holdSetup(
    [
      { kind: "confirmed", claim: claim("a", "issued"), replayed: true },
      { kind: "confirmed", claim: claim("b", "issued"), replayed: true },
      { kind: "released", claim: claim("c", "released"), replayed: true },
    ],
    { inOutbox: new Set(["a"]) },
  );
  await admission.confirm("a");
  await admission.confirm("b");
  await admission.release("c");
  await turn();
  assert.deepEqual(events, ["decide", "publish a:issued", "decide", "decide", "remove a:issued"]);
});

test("holds: answers that need no Kafka do not wait for it; an expiry is forwarded in the background", async () => {
  const { admission, events, breaker, advance } = holdSetup([
    { kind: "hold_expired", claim: claim("x", "expired") },
    { kind: "already_confirmed", claim: claim("y", "issued") },
    { kind: "claim_not_found" },
  ]);
  breaker.failure();
  advance(1000);
  assert.equal((await admission.confirm("x")).kind, "hold_expired", "a probe that needed no Kafka");
  assert.equal((await admission.release("y")).kind, "already_confirmed", "the breaker was released");
  assert.equal((await admission.confirm("z")).kind, "claim_not_found");
  await turn();
  assert.deepEqual(events, ["decide", "decide", "decide"], "the breaker is open: the relay sends the expiry");

  const open = holdSetup([{ kind: "hold_expired", claim: claim("x", "expired") }]);
  assert.equal((await open.admission.confirm("x")).kind, "hold_expired");
  await turn();
  await turn();
  assert.deepEqual(open.events, ["decide", "publish x:expired", "remove x:expired"]);
});

test("holds: a reap returns at once; its expiries are produced behind it, or left to the relay", async () => {
  const { admission, events, expired } = holdSetup([]);
  expired.push(claim("e1", "expired"), claim("e2", "expired"));
  const result = await admission.reapExpired("c");
  assert.deepEqual(
    result.expired.map((c) => c.claimId),
    ["e1", "e2"],
  );
  await turn();
  await turn();
  assert.deepEqual(events, ["publish e1:expired,e2:expired", "remove e1:expired,e2:expired"]);

  const failing = holdSetup([], { failPublish: true });
  failing.expired.push(claim("e3", "expired"));
  await failing.admission.reapExpired("c");
  await turn();
  assert.deepEqual(failing.events, ["publish e3:expired"], "not removed: the relay sends it");
  assert.ok(failing.breaker.isClosed, "a forward is no probe: the breaker is the answers'");
});
