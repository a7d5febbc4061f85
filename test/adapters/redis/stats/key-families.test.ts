import assert from "node:assert/strict";
import { test } from "node:test";
import { KEY_FAMILIES, RedisKeys } from "../../../../src/adapters/redis/keys.ts";
import { stampedeKeyFamily } from "../../../../src/adapters/redis/stats/key-families.ts";

test("stampede's own keys fall into the families keys.ts declares, whatever the ids", () => {
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
