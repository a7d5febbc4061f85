import assert from "node:assert/strict";
import { test } from "node:test";
import { countCommands } from "../../../src/adapters/redis/command-count.ts";
import { redisScripts } from "../../../src/adapters/redis/scripts.ts";
import { Metrics } from "../../../src/ops/metrics/metrics.ts";
import { redisClient, skipWithoutServices, testPrefix } from "../../helpers/services.ts";

/** stampede_redis_commands_total counts what a connection sends, auto-pipelined or not, scripts included. */
const skip = await skipWithoutServices();

test("every command a connection sends is counted once, auto-pipelined or not; the metric shows it by role and connection", {
  skip,
}, async (t) => {
  const metrics = new Metrics({ defaultMetrics: false });
  const redis = redisClient(t, undefined, { enableAutoPipelining: true });
  await redis.ping();
  countCommands(redis, metrics.redisCommandCounter("api", "commands"));
  const prefix = testPrefix(t, "count");
  // One turn of the event loop: one write to the socket, still 50 commands.
  await Promise.all(Array.from({ length: 50 }, (_, i) => redis.set(`${prefix}:k${i}`, i)));
  const scripts = redisScripts(redis);
  await scripts.lockRelease([`${prefix}:lock`], ["token"]);
  await redis.get(`${prefix}:k1`);
  const text = await metrics.text();
  assert.match(text, /stampede_redis_commands_total\{role="api",connection="commands"\} 52/);
});
