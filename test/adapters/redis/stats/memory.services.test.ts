import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import type { Redis } from "ioredis";
import { redisMemoryReport } from "../../../../src/adapters/redis/stats/memory.ts";
import { REDIS_URL, redisClient, skipWithoutRedis, testPrefix } from "../../../helpers/services.ts";

/** redisMemoryReport against the shared Redis, on keys under a prefix of the test's own. */
const skip = await skipWithoutRedis();

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

test("redisMemoryReport: INFO and MEMORY STATS essentials, MEMORY DOCTOR, bytes per key family", {
  skip,
}, async (t) => {
  const client = redisClient(t);
  const p = `${testPrefix(t, "mem")}:`;
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

test("redisMemoryReport bounds its scan and honours the client's keyPrefix", { skip }, async (t) => {
  const plain = redisClient(t);
  const p = `${testPrefix(t, "mem")}:`;
  await seed(plain, p);

  const bounded = await redisMemoryReport(plain, p, { maxScanKeys: 10, scanCount: 5 });
  assert.ok(!("error" in bounded.keyFamilies));
  assert.equal(bounded.keyFamilies.complete, false);
  assert.ok(bounded.keyFamilies.scannedKeys < 64);

  // A client that prefixes its keys itself: SCAN returns full names, MEMORY USAGE must not double the prefix.
  const prefixed = redisClient(t, REDIS_URL, { keyPrefix: p });
  const report = await redisMemoryReport(prefixed, p);
  assert.ok(!("error" in report.keyFamilies));
  const claims = report.keyFamilies.families.find((f) => f.family === "claim:*");
  assert.equal(claims?.keys, 60);
  assert.ok(claims.sampled > 0 && claims.avgBytes >= 100, JSON.stringify(claims));
});
