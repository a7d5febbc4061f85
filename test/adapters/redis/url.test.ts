import assert from "node:assert/strict";
import { test } from "node:test";
import { groupBySlot, hashTagOf, keySlot } from "../../../src/adapters/redis/nodes.ts";
import { parseRedisUrl, redactRedisUrl } from "../../../src/adapters/redis/url.ts";
import { loadConfig } from "../../../src/config/config.ts";

test("REDIS_URL: one Redis, or a cluster by its seed nodes", () => {
  assert.deepEqual(parseRedisUrl("redis://127.0.0.1:6379/2"), {
    kind: "single",
    url: "redis://127.0.0.1:6379/2",
  });
  assert.deepEqual(parseRedisUrl("redis+cluster://10.0.0.1:7000,10.0.0.2:7001"), {
    kind: "cluster",
    nodes: [
      { host: "10.0.0.1", port: 7000 },
      { host: "10.0.0.2", port: 7001 },
    ],
    tls: false,
  });
  assert.deepEqual(parseRedisUrl("rediss+cluster://app:s%40cret@redis-0.svc:6380,[::1]:6381/"), {
    kind: "cluster",
    nodes: [
      { host: "redis-0.svc", port: 6380 },
      { host: "::1", port: 6381 },
    ],
    username: "app",
    password: "s@cret",
    tls: true,
  });
  assert.equal(parseRedisUrl("redis+cluster://:pw@h:1").kind, "cluster");
  for (const bad of [
    "redis+cluster://h",
    "redis+cluster://h:1/0",
    "redis+cluster://h:99999",
    "http://h:1",
    "nope",
  ])
    assert.throws(() => parseRedisUrl(bad), Error, bad);
});

test("REDIS_URL as a setting: a cluster URL is taken, a malformed one refused naming it", () => {
  assert.equal(
    loadConfig({ REDIS_URL: "redis+cluster://127.0.0.1:7100,127.0.0.1:7101" }).REDIS_URL,
    "redis+cluster://127.0.0.1:7100,127.0.0.1:7101",
  );
  assert.throws(
    () => loadConfig({ REDIS_URL: "redis+cluster://127.0.0.1" }),
    /invalid setting REDIS_URL: expected host:port/,
  );
  assert.throws(() => loadConfig({ REDIS_URL: "http://x:1" }), /invalid setting REDIS_URL/);
  assert.equal(loadConfig({}).REDIS_WAIT_REPLICAS, 0);
  assert.throws(
    () => loadConfig({ KAFKA_REPLICATION_FACTOR: "3", KAFKA_MIN_INSYNC_REPLICAS: "4" }),
    /KAFKA_MIN_INSYNC_REPLICAS: above KAFKA_REPLICATION_FACTOR/,
  );
});

test("a URL's credentials never reach a report", () => {
  assert.equal(redactRedisUrl("redis://u:p@h:1/0"), "redis://h:1/0");
  assert.equal(redactRedisUrl("rediss+cluster://:p@a:1,b:2"), "rediss+cluster://a:1,b:2");
  assert.equal(redactRedisUrl("redis://h:1"), "redis://h:1");
});

test("slots: hash tags as Redis Cluster reads them, CRC16 as CLUSTER KEYSLOT answers", () => {
  assert.equal(hashTagOf("p:{abc}:c:x"), "abc");
  assert.equal(hashTagOf("p:{}:x{y}"), "p:{}:x{y}", "an empty tag is no tag");
  assert.equal(hashTagOf("plain"), "plain");
  // Values from Redis's documentation and redis-cli CLUSTER KEYSLOT.
  assert.equal(keySlot("somekey"), 11058);
  assert.equal(keySlot("foo{hash_tag}"), 2515);
  assert.equal(keySlot("é{ü}"), 9552);
  assert.equal(keySlot("123456789"), 0x31c3);
  assert.deepEqual(groupBySlot(["a{1}", "b{2}", "c{1}"]), [["a{1}", "c{1}"], ["b{2}"]]);
});
