/** The Redis connection factory's deadlines (src/adapters/redis/connection.ts), against a Redis that hangs. */
import assert from "node:assert/strict";
import { test } from "node:test";
import pino from "pino";
import { redisConnection } from "../../../src/adapters/redis/connection.ts";
import { startOwnRedis } from "../../helpers/own-redis.ts";
import { skipWithoutServices } from "../../helpers/services.ts";

const skip = await skipWithoutServices();
const logger = pino({ level: "silent" });

async function timed<T>(work: Promise<T>): Promise<{ ms: number; value?: T; error?: Error }> {
  const started = performance.now();
  try {
    const value = await work;
    return { ms: performance.now() - started, value };
  } catch (error) {
    return { ms: performance.now() - started, error: error as Error };
  }
}

test("a command to a hung Redis fails after the command timeout; the connection works once it resumes", {
  skip,
}, async (t) => {
  const own = await startOwnRedis(t, { persistence: false });
  const redis = redisConnection({
    url: own.url,
    name: "test-commands",
    use: "commands",
    logger,
    commandTimeoutMs: 300,
    connectTimeoutMs: 1000,
  });
  t.after(() => redis.disconnect());
  await redis.connect();
  assert.equal(await redis.set("k", "v"), "OK");

  own.freeze();
  t.after(() => own.thaw());
  const [get, ping] = await Promise.all([timed(redis.get("k")), timed(redis.ping())]);
  for (const call of [get, ping]) {
    assert.match(String(call.error?.message), /Command timed out/);
    assert.ok(call.ms >= 250 && call.ms < 1500, `failed after ${call.ms} ms`);
  }
  own.thaw();
  assert.equal(await redis.get("k"), "v");
});

test("a blocking read on a quiet stream is not a timeout; on a hung Redis it fails after BLOCK + the command timeout", {
  skip,
}, async (t) => {
  const own = await startOwnRedis(t, { persistence: false });
  const redis = redisConnection({
    url: own.url,
    name: "test-blocking",
    use: "blocking",
    logger,
    commandTimeoutMs: 100,
    connectTimeoutMs: 1000,
    blockMs: 400,
  });
  t.after(() => redis.disconnect());
  await redis.connect();
  await redis.xgroup("CREATE", "s", "g", "0", "MKSTREAM");
  const read = () =>
    redis.call("XREADGROUP", "GROUP", "g", "c", "COUNT", 10, "BLOCK", 400, "STREAMS", "s", ">");

  const quiet = await timed(read());
  assert.equal(quiet.error, undefined, "a quiet stream answers nil after BLOCK");
  assert.equal(quiet.value, null);

  own.freeze();
  t.after(() => own.thaw());
  const hung = await timed(read());
  assert.match(String(hung.error?.message), /Command timed out/);
  assert.ok(hung.ms >= 450 && hung.ms < 2000, `failed after ${hung.ms} ms`);
  own.thaw();
});

test("commands fail at once while Redis cannot be reached (no offline queue)", {
  skip,
}, async (t) => {
  const own = await startOwnRedis(t, { persistence: false });
  const redis = redisConnection({
    url: own.url,
    name: "test-offline",
    use: "commands",
    logger,
    commandTimeoutMs: 2000,
    connectTimeoutMs: 1000,
  });
  t.after(() => redis.disconnect());
  await redis.connect();
  await own.kill9();
  await new Promise((r) => setTimeout(r, 100)); // the client notices the close
  const down = await timed(redis.ping());
  assert.ok(down.error, "fails");
  assert.ok(down.ms < 200, `failed after ${down.ms} ms`);
});
