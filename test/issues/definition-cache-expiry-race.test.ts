import assert from "node:assert/strict";
import { test } from "node:test";
import type { Redis } from "ioredis";
import { CampaignDefinitions } from "../../src/adapters/redis/admission/definitions.ts";
import { RedisKeys } from "../../src/adapters/redis/keys.ts";

/**
 * Found by the waiting-room bench (1 join in 1,000,000 answered
 * campaign_not_found): CampaignDefinitions.get asked its cache has() and then
 * get(), two reads of the clock; an entry expiring between them read as a
 * remembered "unknown campaign". One read now decides.
 */
test("a cached definition expiring between two reads of the cache is never read as unknown", async (t) => {
  const fields = ["drop", "10", "1", "", "", "1", "open", "0", "", "", "", "", ""];
  let reads = 0;
  const redis = {
    hmget: async () => {
      reads++;
      return fields;
    },
  } as unknown as Redis;
  const definitions = new CampaignDefinitions({
    redis,
    keys: new RedisKeys("t"),
    ledger: { getCampaign: async () => undefined },
    ensure: async () => undefined,
    maxSize: 10,
    ttlMs: 10,
  });
  let clock = 0;
  t.mock.method(performance, "now", () => clock);
  assert.equal((await definitions.get("c"))?.name, "drop");
  assert.equal(reads, 1);
  // Each read of the clock from here on moves it past the entry's expiry (at 10).
  clock = 9.5;
  t.mock.method(performance, "now", () => {
    const now = clock;
    clock += 1;
    return now;
  });
  assert.equal((await definitions.get("c"))?.name, "drop", "a hit at 9.5 is a hit");
});
