import assert from "node:assert/strict";
import { test } from "node:test";
import { type CounterRead, counterFaults, holdRequest, matchRetaken } from "../../../bench/harness/holds.ts";

const read = (issued: number, pending: number, held: number, remaining: number): CounterRead => ({
  sentAt: 0,
  at: 0,
  issued,
  pending,
  held,
  remaining,
});

test("counterFaults: a read adds up and stays within the stock, else says what is wrong", () => {
  assert.deepEqual(counterFaults(read(3, 1, 4, 2), 10), []);
  assert.deepEqual(counterFaults(read(10, 0, 0, 0), 10), []);
  assert.match(counterFaults(read(6, 1, 4, 0), 10).join(), /issued 6 \+ pending 1 \+ held 4 > stock 10/);
  assert.match(counterFaults(read(3, 1, 4, 3), 10).join(), /remaining 3 != stock 10/);
});

test("matchRetaken: first back, first taken; the lag by why the unit came back", () => {
  const m = matchRetaken(
    [
      { at: 2000, why: "expired" },
      { at: 1000, why: "released" },
      { at: 2010, why: "expired" },
    ],
    [2030, 1005, 2012],
  );
  assert.deepEqual(m, { expiryLags: [12, 20], releaseLags: [5], early: 0 });
});

test("matchRetaken: an admission before as many units were back, or one too many, is early", () => {
  assert.equal(matchRetaken([{ at: 1000, why: "expired" }], [990]).early, 1);
  assert.equal(matchRetaken([{ at: 1000, why: "expired" }], [999]).early, 0, "within the tolerance");
  assert.equal(matchRetaken([{ at: 1000, why: "expired" }], [1001, 1002]).early, 1);
  assert.equal(matchRetaken([{ at: 0, why: "unheld" }], [5]).early, 0);
});

test("holdRequest: a bodiless POST with the admin token", () => {
  const bytes = holdRequest("127.0.0.1:8080", "abcdefghijklmnop", "confirm");
  assert.match(bytes, /^POST \/v1\/claims\/abcdefghijklmnop\/confirm HTTP\/1\.1\r\n/);
  assert.match(bytes, /\r\nauthorization: Bearer \S+\r\n/);
  assert.ok(bytes.endsWith("content-length: 0\r\n\r\n"));
});
