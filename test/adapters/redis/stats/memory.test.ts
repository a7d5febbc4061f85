import assert from "node:assert/strict";
import { test } from "node:test";
import type { Redis } from "ioredis";
import {
  assessEviction,
  defaultFamilyOf,
  parseInfo,
  pickStats,
  redisMemoryReport,
} from "../../../../src/adapters/redis/stats/memory.ts";

/** The memory report's parsing and verdicts, without Redis (against it: memory.services.test.ts). */
test("a Redis that refuses MEMORY still reports the rest", async () => {
  const info =
    "# Memory\r\nused_memory:2048\r\nused_memory_rss:4096\r\nmaxmemory:1000\r\nmaxmemory_policy:allkeys-lru\r\nmem_fragmentation_ratio:2.0\r\n";
  const fake = {
    options: {},
    info: async () => info,
    memory: async () => Promise.reject(new Error("ERR unknown command 'MEMORY'")),
    scan: async () => ["0", []],
    pipeline: () => ({ memory: () => undefined, exec: async () => [] }),
  } as unknown as Redis;
  const report = await redisMemoryReport(fake, "x:");
  assert.deepEqual(report.stats, { error: "ERR unknown command 'MEMORY'" });
  assert.deepEqual(report.doctor, { error: "ERR unknown command 'MEMORY'" });
  assert.ok(!("error" in report.info));
  assert.equal(report.info.used_memory, 2048);
  assert.ok(!("error" in report.eviction));
  assert.equal(report.eviction.canEvict, true);
  assert.match(report.warnings[0]!, /allkeys-lru .* can evict ANY key/);
  assert.ok(report.warnings.some((w) => /used_memory is 205% of maxmemory/.test(w)));
});

test("assessEviction: only noeviction keeps stampede's keys", () => {
  assert.equal(assessEviction("noeviction", 0).canEvict, false);
  assert.equal(assessEviction("noeviction", 1 << 30).canEvict, false);
  for (const policy of ["allkeys-lru", "allkeys-lfu", "allkeys-random"]) {
    const a = assessEviction(policy, 1 << 30);
    assert.equal(a.canEvict, true);
    assert.match(a.message, /admission state/);
    assert.match(a.message, /set maxmemory-policy noeviction/);
  }
  for (const policy of ["volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"]) {
    const a = assessEviction(policy, 1 << 30);
    assert.equal(a.canEvict, true);
    assert.match(a.message, /TTL/);
  }
  assert.equal(assessEviction("something-new", 0).canEvict, true, "an unknown policy is not trusted");
});

test("key families, INFO and MEMORY STATS parsing", () => {
  assert.equal(defaultFamilyOf("claim:Xk3_9aZ-AbCdEfGhIjKlMn"), "claim:*");
  assert.equal(defaultFamilyOf("c:{summer-2024}:stock"), "c:{*}:stock");
  assert.equal(defaultFamilyOf("idem:{c1}:User42:key"), "idem:{*}:*:key");
  assert.deepEqual(parseInfo("# Memory\r\nused_memory:10\r\nmaxmemory_policy:noeviction\r\nother:1\r\n"), {
    used_memory: 10,
    maxmemory_policy: "noeviction",
  });
  const flat = [
    "peak.allocated",
    100,
    "keys.count",
    3,
    "db.0",
    ["overhead.hashtable.main", 1],
    "fragmentation",
    "1.5",
  ];
  assert.deepEqual(pickStats(flat), { "peak.allocated": 100, "keys.count": 3, fragmentation: 1.5 });
  assert.deepEqual(pickStats({ "keys.count": 7, "dataset.bytes": 9 }), {
    "keys.count": 7,
    "dataset.bytes": 9,
  });
});
