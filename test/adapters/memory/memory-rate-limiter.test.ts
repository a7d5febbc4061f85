import assert from "node:assert/strict";
import { test } from "node:test";
import { MemoryRateLimiter } from "../../../src/adapters/memory/memory-rate-limiter.ts";
import { parseRate } from "../../../src/domain/rate-policy.ts";

const limiter = (
  t: { after: (fn: () => void) => void },
  options: ConstructorParameters<typeof MemoryRateLimiter>[0],
) => {
  const l = new MemoryRateLimiter(options);
  t.after(() => l.close());
  return l;
};

test("per campaign and user: a burst, then 429 with Retry-After; other users and campaigns unaffected", async (t) => {
  let now = 0;
  const l = limiter(t, { user: parseRate("5/s", "X"), now: () => now });
  for (let i = 0; i < 5; i++) assert.equal(await l.check("c1", "alice", "10.0.0.1"), undefined);
  assert.equal(await l.check("c1", "alice", "10.0.0.1"), 1);
  assert.equal(await l.check("c1", "bob", "10.0.0.1"), undefined, "another user");
  assert.equal(await l.check("c2", "alice", "10.0.0.1"), undefined, "another campaign");
  now += 200;
  assert.equal(await l.check("c1", "alice", "10.0.0.1"), undefined, "one interval later");
  assert.equal(await l.check("c1", "alice", "10.0.0.1"), 1);
});

test("per client address across campaigns; a refusal by one bucket is not counted by the other", async (t) => {
  let now = 0;
  const l = limiter(t, { user: parseRate("2/s", "X"), ip: parseRate("3/s", "X"), now: () => now });
  assert.equal(await l.check("c1", "u1", "1.1.1.1"), undefined);
  assert.equal(await l.check("c1", "u1", "1.1.1.1"), undefined);
  assert.equal(await l.check("c1", "u1", "1.1.1.1"), 1, "user bucket empty");
  assert.equal(
    await l.check("c2", "u2", "1.1.1.1"),
    undefined,
    "address bucket still had one: the refusal did not take it",
  );
  assert.equal(await l.check("c3", "u3", "1.1.1.1"), 1, "address bucket empty, across campaigns");
  assert.equal(await l.check("c3", "u3", "2.2.2.2"), undefined, "another address");
  now += 1000;
  assert.equal(await l.check("c3", "u3", "1.1.1.1"), undefined);
});

test("a long period gives a long Retry-After", async (t) => {
  const l = limiter(t, { user: parseRate("1/m", "X"), now: () => 0 });
  assert.equal(await l.check("c", "u", "ip"), undefined);
  assert.equal(await l.check("c", "u", "ip"), 60);
});

test("drained buckets are forgotten, so memory follows the users active now", async (t) => {
  let now = 0;
  const l = limiter(t, { user: parseRate("5/s", "X"), now: () => now, maxBuckets: 1000 });
  for (let i = 0; i < 500; i++) await l.check("c", `user-${i}`, "ip");
  assert.equal(l.size, 500);
  now += 199;
  assert.equal(l.sweep(), 500, "not drained yet");
  now += 1;
  assert.equal(l.sweep(), 0);
  for (let i = 0; i < 1500; i++) {
    now += 1;
    await l.check("c", `spike-${i}`, "ip");
  }
  assert.ok(l.size <= 1000, `a spike sweeps early (held ${l.size})`);
});

test("no policy: everything passes", async (t) => {
  const l = limiter(t, {});
  for (let i = 0; i < 100; i++) assert.equal(await l.check("c", "u", "ip"), undefined);
});
