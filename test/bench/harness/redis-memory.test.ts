import assert from "node:assert/strict";
import { test } from "node:test";
import { keyFamily } from "../../../bench/harness/redis-memory.ts";

/** The bench's Redis memory measure, without Redis (against it: services.services.test.ts). */
test("key families replace id-like segments", () => {
  assert.equal(keyFamily("p:{c1}:claims:abc", "p:"), "p:*:claims:abc");
  assert.equal(keyFamily("p:stream", "p:"), "p:stream");
  assert.equal(keyFamily("p:u:0123456789abcdefghijk", "p:"), "p:u:*");
});
