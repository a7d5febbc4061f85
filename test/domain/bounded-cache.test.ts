import assert from "node:assert/strict";
import { test } from "node:test";
import { BoundedCache } from "../../src/domain/bounded-cache.ts";

test("the least recently used entry leaves first once full", () => {
  const cache = new BoundedCache<string, number>({ maxSize: 2 });
  cache.set("a", 1);
  cache.set("b", 2);
  assert.equal(cache.get("a"), 1, "a read makes a the most recent");
  cache.set("c", 3);
  assert.equal(cache.size, 2);
  assert.equal(cache.has("b"), false, "b was the least recent");
  assert.deepEqual([cache.get("a"), cache.get("c")], [1, 3]);
});

test("entries expire after ttlMs; undefined is a value (a cached miss)", () => {
  let now = 0;
  const cache = new BoundedCache<string, string | undefined>({ maxSize: 10, ttlMs: 100, now: () => now });
  cache.set("unknown", undefined);
  assert.equal(cache.has("unknown"), true);
  assert.equal(cache.get("unknown"), undefined);
  now = 100;
  assert.equal(cache.has("unknown"), false, "expired");
  assert.equal(cache.size, 0, "and dropped when read");
  cache.set("x", "y");
  cache.delete("x");
  assert.equal(cache.has("x"), false);
});
