import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { type TestContext, test } from "node:test";
import { Redis } from "ioredis";
import {
  assessEviction,
  defaultFamilyOf,
  parseInfo,
  pickStats,
  redisMemoryReport,
} from "../../../src/adapters/redis/stats/memory.ts";

const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

/** A client on the shared Redis, or a skip with the reason (a failure when CI=true). */
async function connect(t: TestContext, keyPrefix?: string): Promise<Redis | undefined> {
  const client = new Redis(REDIS_URL, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
    ...(keyPrefix ? { keyPrefix } : {}),
  });
  client.on("error", () => undefined);
  try {
    await client.connect();
  } catch (error) {
    if (process.env.CI === "true") throw error;
    t.skip(`Redis not reachable at ${REDIS_URL}: ${(error as Error).message}`);
    return undefined;
  }
  return client;
}

async function keysUnder(client: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, batch] = await client.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== "0");
  return keys;
}

/**
 * A client and our own key prefix on the shared Redis. When the test ends,
 * every key under the prefix is deleted (and checked gone), then the client
 * disconnects.
 */
async function redis(t: TestContext): Promise<{ client: Redis; prefix: string } | undefined> {
  const client = await connect(t);
  if (!client) return undefined;
  const prefix = `stampede-test-ops-${randomBytes(6).toString("hex")}:`;
  t.after(async () => {
    try {
      const keys = await keysUnder(client, prefix);
      if (keys.length > 0) await client.del(...keys);
      assert.equal((await keysUnder(client, prefix)).length, 0, "test keys cleaned up");
    } finally {
      client.disconnect();
    }
  });
  return { client, prefix };
}

async function seed(client: Redis, p: string): Promise<void> {
  const pipeline = client.pipeline();
  for (let i = 0; i < 60; i++)
    pipeline.set(`${p}claim:${randomBytes(16).toString("base64url")}`, "x".repeat(100));
  const holders: Record<string, string> = {};
  for (let i = 0; i < 500; i++) holders[`user-${i}`] = randomBytes(16).toString("base64url");
  pipeline.hset(`${p}c:{summer}:holders`, holders);
  pipeline.set(`${p}c:{summer}:stock`, "1000");
  pipeline.set(`${p}c:{winter}:stock`, "50");
  for (let i = 0; i < 50; i++)
    pipeline.xadd(`${p}stream:claims`, "*", "claim", randomBytes(40).toString("hex"));
  await pipeline.exec();
}

test("redisMemoryReport: INFO and MEMORY STATS essentials, MEMORY DOCTOR, bytes per key family", async (t) => {
  const redisTest = await redis(t);
  if (!redisTest) return;
  const { client, prefix: p } = redisTest;
  await seed(client, p);

  const report = await redisMemoryReport(client, p);
  assert.ok(!("error" in report.info), JSON.stringify(report.info));
  assert.ok(Number(report.info.used_memory) > 0);
  assert.ok(Number(report.info.used_memory_rss) > 0);
  assert.equal(typeof report.info.maxmemory_policy, "string");
  assert.equal(typeof report.info.maxmemory, "number");
  assert.equal(typeof report.info.mem_fragmentation_ratio, "number");

  assert.ok(!("error" in report.stats), JSON.stringify(report.stats));
  assert.ok(report.stats["keys.count"]! >= 63);
  assert.ok(report.stats["total.allocated"]! > 0);
  assert.equal(typeof report.doctor, "string");
  assert.ok((report.doctor as string).length > 10);

  assert.ok(!("error" in report.keyFamilies));
  const families = Object.fromEntries(report.keyFamilies.families.map((f) => [f.family, f]));
  assert.deepEqual(Object.keys(families).sort(), [
    "c:{*}:holders",
    "c:{*}:stock",
    "claim:*",
    "stream:claims",
  ]);
  assert.equal(report.keyFamilies.scannedKeys, 64);
  assert.equal(report.keyFamilies.complete, true);
  assert.equal(families["claim:*"]!.keys, 60);
  assert.equal(families["claim:*"]!.sampled, 32, "at most samplesPerFamily MEMORY USAGE calls");
  assert.ok(families["claim:*"]!.avgBytes >= 100);
  assert.equal(families["c:{*}:stock"]!.keys, 2);
  assert.ok(families["c:{*}:holders"]!.avgBytes > 500 * 16, "a 500-field hash weighs more than its values");
  assert.equal(report.keyFamilies.families[0]!.family, "c:{*}:holders", "biggest first");
  const sum = report.keyFamilies.families.reduce((s, f) => s + f.estimatedBytes, 0);
  assert.equal(report.keyFamilies.estimatedBytes, sum);

  assert.ok(!("error" in report.eviction));
  assert.equal(report.eviction.policy, report.info.maxmemory_policy);
  assert.equal(report.eviction.canEvict, report.info.maxmemory_policy !== "noeviction");
  assert.equal(
    report.warnings.some((w) => w.startsWith("maxmemory is 0")),
    report.info.maxmemory === 0,
  );
});

test("redisMemoryReport bounds its scan and honours the client's keyPrefix", async (t) => {
  const redisTest = await redis(t);
  if (!redisTest) return;
  const { client: plain, prefix: p } = redisTest;
  await seed(plain, p);

  const bounded = await redisMemoryReport(plain, p, { maxScanKeys: 10, scanCount: 5 });
  assert.ok(!("error" in bounded.keyFamilies));
  assert.equal(bounded.keyFamilies.complete, false);
  assert.ok(bounded.keyFamilies.scannedKeys < 64);

  // A client that prefixes its keys itself: SCAN returns full names, MEMORY USAGE must not double the prefix.
  const prefixed = await connect(t, p);
  if (!prefixed) return;
  t.after(() => prefixed.disconnect());
  const report = await redisMemoryReport(prefixed, p);
  assert.ok(!("error" in report.keyFamilies));
  const claims = report.keyFamilies.families.find((f) => f.family === "claim:*");
  assert.equal(claims?.keys, 60);
  assert.ok(claims.sampled > 0 && claims.avgBytes >= 100, JSON.stringify(claims));
});

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

test("stampede's own keys fall into the families keys.ts declares, whatever the ids", async () => {
  const { KEY_FAMILIES, RedisKeys } = await import("../../../src/adapters/redis/keys.ts");
  const { stampedeKeyFamily } = await import("../../../src/adapters/redis/stats/key-families.ts");
  const keys = new RedisKeys("stampede");
  const familyOf = (key: string) => stampedeKeyFamily(key.slice("stampede:".length));
  const families = new Map<string, Set<string>>();
  const add = (kind: string, key: string) => {
    const set = families.get(kind) ?? new Set<string>();
    set.add(familyOf(key));
    families.set(kind, set);
  };
  for (const campaign of ["summer", "winter-sale", "Drop_2024"]) {
    const c = keys.campaign(campaign);
    add("state", c.state);
    add("holders", c.holders);
    add("stream", c.stream);
    add("outbox", c.outbox);
    add("claims", c.claims);
    add("idempotency", c.idempotency("alice", "key-1"));
    add("rate-user", keys.rateLimitUser(campaign, "bob:the:builder"));
  }
  for (const id of ["abc", "Xk3_9aZ-AbCdEf", "with:colon"]) {
    add("task", keys.tasks.task(id));
    add("task-key", keys.tasks.idempotency(id));
  }
  add("rate-ip", keys.rateLimitIp("2001:db8::1"));
  add("rate-ip", keys.rateLimitIp("10.0.0.1"));
  for (const [kind, set] of families) assert.equal(set.size, 1, `${kind}: ${[...set].join(", ")}`);
  assert.deepEqual(
    [...families].map(([kind, set]) => [kind, [...set][0]]),
    [
      ["state", "{*}:c:*"],
      ["holders", "{*}:c:*:holders"],
      ["stream", "{*}:c:*:stream"],
      ["outbox", "{*}:c:*:outbox"],
      ["claims", "{*}:claims"],
      ["idempotency", "{*}:c:*:idem:*"],
      ["rate-user", "rl:u:*:*"],
      ["task", "{tasks}:task:*"],
      ["task-key", "task-key:*"],
      ["rate-ip", "rl:ip:*"],
    ],
  );
  assert.equal(familyOf(keys.registry), "campaigns");
  assert.equal(familyOf(keys.tasks.due), "{tasks}:due");
  assert.equal(familyOf(keys.tasks.stream), "tasks:stream");
  // Every declared family has a name of its own.
  const names = Object.values(KEY_FAMILIES).map((f) => f.name);
  assert.equal(new Set(names).size, names.length, names.join(", "));
});
