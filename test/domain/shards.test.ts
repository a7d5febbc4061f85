import assert from "node:assert/strict";
import { test } from "node:test";
import { campaignTag, claimTag, RedisKeys, shardOfClaim, shardRef } from "../../src/adapters/redis/keys.ts";
import { MAX_SHARDS, shardOfUser, sliceState, sliceUnits, splitStock } from "../../src/domain/shards.ts";

test("a user always maps to the same shard, within range, and users spread over every shard", {
  timeout: 10_000,
}, () => {
  const counts = new Array(8).fill(0);
  for (let i = 0; i < 8000; i++) {
    const shard = shardOfUser(`user-${i}`, 8);
    assert.ok(shard >= 0 && shard < 8);
    assert.equal(shardOfUser(`user-${i}`, 8), shard, "stable");
    counts[shard]++;
  }
  // 1000 expected per shard: a hash that clusters would leave one far off.
  for (const count of counts) assert.ok(count > 850 && count < 1150, `spread: ${counts.join(",")}`);
  assert.equal(shardOfUser("anyone", 1), 0);
});

test("the stock splits as evenly as can be and sums to the stock", { timeout: 10_000 }, () => {
  assert.deepEqual(splitStock(10, 4), [3, 3, 2, 2]);
  assert.deepEqual(splitStock(3, 5), [1, 1, 1, 0, 0]);
  assert.deepEqual(splitStock(10_000, 8), new Array(8).fill(1250));
  for (const [units, shards] of [
    [1, 16],
    [999_999, 7],
    [17, 16],
  ] as const) {
    const parts = splitStock(units, shards);
    assert.equal(parts.length, shards);
    assert.equal(
      parts.reduce((a, b) => a + b, 0),
      units,
    );
    assert.ok(Math.max(...parts) - Math.min(...parts) <= 1);
  }
});

test("slices of free units: every unit once; a contiguous slice is a counter with no list", {
  timeout: 10_000,
}, () => {
  const units = Array.from({ length: 10 }, (_, i) => i + 1);
  const slices = sliceUnits(units, 3);
  assert.deepEqual(slices, [
    [1, 2, 3, 4],
    [5, 6, 7],
    [8, 9, 10],
  ]);
  assert.deepEqual(sliceState(slices[1]!), { next: 4, free: [] });
  // A rebuild's gaps: 2 and 5 are held by surviving claims.
  const gappy = [1, 3, 4, 6, 7, 8];
  assert.deepEqual(sliceState(gappy), { next: 5, free: [1, 3, 4] });
  assert.deepEqual(sliceState([]), { next: 0, free: [] });
  assert.deepEqual(sliceUnits(gappy, 2).flat(), gappy);
});

test("each shard has a tag of its own; a claim id's tag names its shard", { timeout: 10_000 }, () => {
  const keys = new RedisKeys("p");
  const tags = new Set<string>();
  for (let shard = 0; shard < MAX_SHARDS; shard++) {
    const k = keys.campaign(shardRef("hot", shard));
    const tag = /\{([^}]+)\}/.exec(k.state)![1]!;
    tags.add(tag);
    assert.ok(k.state.endsWith(":c:hot"), k.state);
    assert.equal(shardOfClaim("hot", `${tag}AAAAAAAAAAAAAAAAAAAAAA`), shard);
    assert.equal(claimTag(`${tag}AAAAAAAAAAAAAAAAAAAAAA`), tag);
  }
  assert.equal(tags.size, MAX_SHARDS, "distinct tags");
  // Shard 0 is the campaign's own slot: a campaign with one shard is as before.
  assert.equal(keys.campaign(shardRef("hot", 0)).state, keys.campaign("hot").state);
  assert.ok(keys.campaign("hot").state.includes(`{${campaignTag("hot")}}`));
});
