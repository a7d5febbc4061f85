import assert from "node:assert/strict";
import { test } from "node:test";
import { redisScripts } from "../../../src/adapters/redis/scripts.ts";
import { redisClient, skipWithoutRedis } from "../../helpers/services.ts";

/** The script loader on a real client (its files, sources and key counts, without Redis: scripts.test.ts). */
const skip = await skipWithoutRedis();

test("scripts are defined once per client; a call with the wrong number of keys is refused", {
  skip,
}, async (t) => {
  const redis = redisClient(t);
  const scripts = redisScripts(redis);
  assert.equal(redisScripts(redis), scripts, "defined once per client");
  await assert.rejects(scripts.markWritten(["only-one"], []), /markWritten takes 3 keys, got 1/);
});
