import assert from "node:assert/strict";
import { test } from "node:test";
import { campaignTag, claimTag, KEY_FAMILIES, RedisKeys } from "../../../src/adapters/redis/keys.ts";

/** The one key module: what each builder makes, and that each key is of the family it declares. */
const keys = new RedisKeys("stampede");
const rest = (key: string) => {
  assert.ok(key.startsWith("stampede:"), key);
  return key.slice("stampede:".length);
};

test("every key a builder makes is of its declared family, and of no other", () => {
  const c = keys.campaign("summer-2024");
  const built: [keyof typeof KEY_FAMILIES, string][] = [
    ["state", c.state],
    ["holders", c.holders],
    ["claims", c.claims],
    ["stream", c.stream],
    ["outbox", c.outbox],
    ["free", c.free],
    ["expiries", c.expiries],
    ["roomLine", c.line],
    ["roomTickets", c.tickets],
    ["rebuildLock", c.lock],
    ["transfers", keys.campaign("summer-2024:s3").transfers],
    ["received", c.received],
    ["idempotency", c.idempotency("alice", "key:1")],
    ["claimRateUser", c.rateUser("bob:the:builder")],
    ["claimRateIp", c.rateIp("2001:db8::1")],
    ["registry", keys.registry],
    ["holdsRegistry", keys.holdsRegistry],
    ["roomsRegistry", keys.roomsRegistry],
    ["shardedRegistry", keys.shardedRegistry],
    ["task", keys.tasks.task("t1")],
    ["taskDue", keys.tasks.due],
    ["taskDead", keys.tasks.dead],
    ["taskStream", keys.tasks.stream],
    ["taskIdempotency", keys.tasks.idempotency("any:key")],
    ["rateLimitUser", keys.rateLimitUser("summer-2024", "bob:the:builder")],
    ["rateLimitIp", keys.rateLimitIp("2001:db8::1")],
  ];
  assert.deepEqual(built.map(([family]) => family).sort(), Object.keys(KEY_FAMILIES).sort(), "all families");
  for (const [family, key] of built) {
    const matching = Object.entries(KEY_FAMILIES).filter(([, layout]) => layout.matches(rest(key)));
    assert.deepEqual(
      matching.map(([name]) => name),
      [family],
      key,
    );
  }
});

test("a campaign's keys share its hash tag; claim ids lead back to the claims hash", () => {
  const tag = campaignTag("summer");
  assert.match(tag, /^[A-Za-z0-9_-]{11}$/);
  const c = keys.campaign("summer");
  for (const key of [
    c.state,
    c.holders,
    c.claims,
    c.stream,
    c.outbox,
    c.free,
    c.expiries,
    c.line,
    c.tickets,
    c.lock,
    c.noIdempotency,
    c.rateUser("u"),
    c.rateIp("10.0.0.1"),
  ])
    assert.ok(key.includes(`{${tag}}`), key);
  assert.equal(c.state, `stampede:{${tag}}:c:summer`);
  assert.equal(c.holders, `stampede:{${tag}}:c:summer:holders`);
  assert.equal(keys.campaign("summer"), c, "built once per campaign");
  const claimId = `${tag}${"x".repeat(22)}`;
  assert.equal(claimTag(claimId), tag);
  assert.equal(keys.claimsOf(claimId), c.claims);
  assert.equal(keys.claimsOf("short"), undefined);
  assert.notEqual(c.idempotency("alice", "k"), c.idempotency("alice2", "k"));
});

test("the layouts of stored keys and channels", () => {
  assert.equal(keys.registry, "stampede:campaigns");
  assert.equal(keys.holdsRegistry, "stampede:holds");
  assert.equal(keys.issuedChannel, "stampede:issued");
  assert.equal(keys.campaignEventsChannel, "stampede:campaign-events");
  assert.equal(keys.tasks.task("t1"), "stampede:{tasks}:task:t1");
  assert.equal(keys.tasks.taskPrefix, "stampede:{tasks}:task:");
  assert.equal(keys.tasks.due, "stampede:{tasks}:due");
  assert.equal(keys.tasks.dead, "stampede:{tasks}:dead");
  assert.equal(keys.tasks.stream, "stampede:tasks:stream");
  assert.equal(keys.tasks.events("t1"), "stampede:task-events:t1");
  assert.equal(keys.rateLimitUser("c1", "u1"), "stampede:rl:u:c1:u1");
  assert.equal(keys.rateLimitIp("10.0.0.1"), "stampede:rl:ip:10.0.0.1");
  assert.equal(KEY_FAMILIES.holders.name, "{*}:c:*:holders");
  assert.throws(() => new RedisKeys("bad{prefix}"), /must not contain/);
});
