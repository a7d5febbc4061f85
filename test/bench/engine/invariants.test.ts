import assert from "node:assert/strict";
import { test } from "node:test";
import { type ClaimRead, checkInvariants, type InvariantInput } from "../../../bench/engine/invariants.ts";

/** A clean run: 5 users, stock 2, users 0 and 1 admitted, user 0 re-sent (409), the rest sold out. */
function cleanRun(): InvariantInput {
  const claims = new Map<string, ClaimRead>([
    [
      "c0",
      { http: 200, userId: "u0", status: "issued", couponCode: "AAAA", admittedAt: 1000, issuedAt: 1003 },
    ],
    [
      "c1",
      { http: 200, userId: "u1", status: "issued", couponCode: "BBBB", admittedAt: 1001, issuedAt: 1004 },
    ],
  ]);
  return {
    stock: 2,
    perUserLimit: 1,
    answerBoundMs: 10_000,
    userIdOf: (i) => `u${i}`,
    user: [0, 1, 2, 3, 4, 0],
    status: [202, 202, 410, 410, 410, 409],
    claimId: ["c0", "c1", null, null, null, "c0"],
    latencyMs: [1, 2, 3, 4, 5, 6],
    connectionErrors: {},
    samples: [
      { at: 1, issued: 0, pending: 0, remaining: 2 },
      { at: 2, issued: 0, pending: 2, remaining: 0 },
      { at: 3, issued: 2, pending: 0, remaining: 0 },
    ],
    final: { issued: 2, pending: 0, remaining: 0 },
    quiet: true,
    claims,
    userClaims: new Map([[0, ["c0"]]]),
  };
}

const verdicts = (input: InvariantInput) => checkInvariants(input).map((r) => r.pass);
const failuresOf = (input: InvariantInput, id: number) =>
  checkInvariants(input).find((r) => r.id === id)!.failures;

test("a clean run passes all five invariants", () => {
  const results = checkInvariants(cleanRun());
  assert.deepEqual(
    results.map((r) => r.id),
    [1, 2, 3, 4, 5],
  );
  for (const r of results) assert.equal(r.pass, true, `${r.id}: ${r.failures.join("; ")}`);
});

test("1: a counter read with remaining < 0, or more 202s than stock, fails", () => {
  const negative = cleanRun();
  negative.samples.push({ at: 4, issued: 2, pending: 1, remaining: -1 });
  assert.deepEqual(verdicts(negative).slice(0, 1), [false]);
  const tooMany = cleanRun();
  tooMany.status = [202, 202, 202, 410, 410, 409];
  tooMany.claimId = ["c0", "c1", "c2", null, null, "c0"];
  assert.match(failuresOf(tooMany, 1).join(), /3 distinct claims were answered 202 for a stock of 2/);
});

test("1: the ledger rows are judged too when given", () => {
  const input = cleanRun();
  input.database = { rows: 3, usersOverLimit: 0, duplicateUnits: 1, maxUnit: 3, coupons: new Map() };
  const failures = failuresOf(input, 1).join("; ");
  assert.match(failures, /ledger holds 3 rows/);
  assert.match(failures, /units held twice/);
});

test("2: a user named two different claims fails; a claim of another user fails", () => {
  const twice = cleanRun();
  twice.claimId = ["c0", "c1", null, null, null, "c9"];
  assert.match(failuresOf(twice, 2).join(), /1 users hold more than 1 claim/);
  const foreign = cleanRun();
  foreign.claims.set("c0", { ...foreign.claims.get("c0")!, userId: "u7" });
  assert.match(failuresOf(foreign, 2).join(), /named another user's claim/);
  const listed = cleanRun();
  listed.userClaims = new Map([[0, ["c0", "c5"]]]);
  assert.equal(verdicts(listed)[1], false, "a second claim in the user's list counts");
});

test("3: a 202 whose claim is not issued, or pending that never reaches 0, fails", () => {
  const pending = cleanRun();
  pending.claims.set("c1", { http: 200, userId: "u1", status: "pending" });
  assert.match(failuresOf(pending, 3).join(), /not issued with a coupon code/);
  const lost = cleanRun();
  lost.claims.delete("c1");
  assert.equal(verdicts(lost)[2], false);
  const noisy = cleanRun();
  noisy.quiet = false;
  noisy.final = { issued: 1, pending: 1, remaining: 0 };
  assert.match(failuresOf(noisy, 3).join("; "), /pending did not reach 0/);
});

test("3: a ledger coupon code that differs from the API's fails", () => {
  const input = cleanRun();
  input.database = {
    rows: 2,
    usersOverLimit: 0,
    duplicateUnits: 0,
    maxUnit: 2,
    coupons: new Map([
      ["c0", "AAAA"],
      ["c1", "ZZZZ"],
    ]),
  };
  assert.match(failuresOf(input, 3).join(), /1 ledger coupon codes differ/);
});

test("4: a 410 while stock is left fails (lost sale)", () => {
  const input = cleanRun();
  input.final = { issued: 1, pending: 0, remaining: 1 };
  input.status = [202, 410, 410, 410, 410, 409];
  input.claimId = ["c0", null, null, null, null, "c0"];
  const failures = failuresOf(input, 4).join("; ");
  assert.match(failures, /answers 410 but only 1 of 2 issued/);
  assert.match(failures, /issued 1 != min\(stock, users answered\) = 2/);
});

test("5: no answer, a 500, or an answer past the bound fails; 503 does not", () => {
  const noAnswer = cleanRun();
  noAnswer.status = [202, 202, 0, 410, 410, 409];
  noAnswer.connectionErrors = { ECONNRESET: 1 };
  assert.match(failuresOf(noAnswer, 5).join(), /1 requests got no answer \(e\.g\. ECONNRESET 1\)/);
  const serverError = cleanRun();
  serverError.status = [202, 202, 500, 410, 410, 409];
  assert.equal(verdicts(serverError)[4], false);
  const slow = cleanRun();
  slow.latencyMs = [1, 2, 3, 4, 20_000, 6];
  assert.match(failuresOf(slow, 5).join(), /longer than 10,000 ms/);
  const unavailable = cleanRun();
  unavailable.status = [202, 202, 503, 410, 410, 409];
  assert.equal(verdicts(unavailable)[4], true);
});
