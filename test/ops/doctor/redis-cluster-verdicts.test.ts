import assert from "node:assert/strict";
import { test } from "node:test";
import { mergeNodeVerdicts, replicasVerdict } from "../../../src/ops/doctor/checks/redis.ts";
import { ok, warn } from "../../../src/ops/doctor/types.ts";

test("replicas: what REDIS_WAIT_REPLICAS buys, and a master that cannot give it", () => {
  assert.equal(replicasVerdict(0, 0), undefined, "one Redis without replicas: nothing to say");
  assert.equal(replicasVerdict(1, 0)?.status, "info");
  assert.match(replicasVerdict(1, 0)!.message, /202s of the last moments before it may be lost/);
  assert.equal(replicasVerdict(1, 1)?.status, "ok");
  assert.match(replicasVerdict(1, 1)!.message, /loses no 202/);
  const none = replicasVerdict(0, 1)!;
  assert.equal(none.status, "fail");
  assert.match(none.message, /every admission on this master answers 503/);
});

test("verdicts of several masters: merged where they agree, named where they differ", () => {
  const merged = mergeNodeVerdicts(
    [
      ["h:1", [ok("redis", "answers, Redis 7.2"), ok("redis-eviction", "noeviction")]],
      ["h:2", [ok("redis", "answers, Redis 7.2"), warn("redis-eviction", "allkeys-lru", "fix")]],
    ],
    undefined,
  );
  assert.deepEqual(
    merged.map((v) => v.message),
    ["every master answers, Redis 7.2", "h:1: noeviction", "h:2: allkeys-lru"],
  );
  const single = mergeNodeVerdicts(
    [["h:1", [ok("redis", "answers, Redis 7.2"), ok("x", "y")]]],
    "redis://h:1",
  );
  assert.deepEqual(
    single.map((v) => v.message),
    ["redis://h:1 answers, Redis 7.2", "y"],
  );
});
