import assert from "node:assert/strict";
import { test } from "node:test";
import { RedisKeys } from "../../../../src/adapters/redis/admission/keys.ts";
import { stampedeKeyFamily } from "../../../../src/adapters/redis/stats/key-families.ts";
import { taskKeys } from "../../../../src/adapters/redis/tasks/keys.ts";
import { ipBucket, userBucket } from "../../../../src/domain/rate-buckets.ts";

test("stampede's own keys fall into one family per kind, whatever the ids", () => {
  const keys = new RedisKeys("stampede");
  const tasks = taskKeys("stampede");
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
    add("claims", c.claims);
    add("idempotency", c.idempotency("alice", "key-1"));
    add("rate-user", `stampede:rl:${userBucket(campaign, "bob:the:builder")}`);
  }
  for (const id of ["abc", "Xk3_9aZ-AbCdEf"]) {
    add("task", tasks.task(id));
    add("task-key", tasks.idempotency(id));
  }
  add("rate-ip", `stampede:rl:${ipBucket("2001:db8::1")}`);
  add("rate-ip", `stampede:rl:${ipBucket("10.0.0.1")}`);
  for (const [kind, set] of families) assert.equal(set.size, 1, `${kind}: ${[...set].join(", ")}`);
  assert.deepEqual(
    [...families].map(([kind, set]) => [kind, [...set][0]]),
    [
      ["state", "{*}:c:*"],
      ["holders", "{*}:c:*:holders"],
      ["stream", "{*}:c:*:stream"],
      ["claims", "{*}:claims"],
      ["idempotency", "{*}:c:*:idem:*"],
      ["rate-user", "rl:u:*"],
      ["task", "task:*"],
      ["task-key", "task-key:*"],
      ["rate-ip", "rl:ip:*"],
    ],
  );
  assert.equal(familyOf(keys.registry), "campaigns");
  assert.equal(familyOf(tasks.due), "tasks:due");
});
