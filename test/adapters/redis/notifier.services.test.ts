import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { pino } from "pino";
import { RedisNotifier } from "../../../src/adapters/redis/notifier.ts";
import type { Claim } from "../../../src/domain/types.ts";
import { redisClient, skipWithoutServices, uniqueName } from "../../helpers/services.ts";
import { eventually } from "../../helpers/wait.ts";

const skip = await skipWithoutServices();

const claim = (claimId: string): Claim => ({
  claimId,
  campaignId: "c1",
  userId: "u1",
  seq: 1,
  unit: 1,
  couponCode: "ABCD-EFGH-JKMN-PQRS",
  admittedAt: 1,
  status: "issued",
  issuedAt: 2,
});

test("a claim issued by any process reaches the listeners of another, once subscribe() resolved", {
  skip,
}, async (t) => {
  const channel = uniqueName("issued");
  const logger = pino({ level: "silent" });
  const api = new RedisNotifier({ publisher: redisClient(t), subscriber: redisClient(t), channel, logger });
  const worker = new RedisNotifier({
    publisher: redisClient(t),
    subscriber: redisClient(t),
    channel,
    logger,
  });
  const got: string[] = [];
  const stop = await api.subscribe("k1", (c) => got.push(c.claimId));
  // No wait here: subscribe() resolving means the subscription is live.
  await worker.publish([claim("k1"), claim("other")]);
  await eventually(() => got.length === 1);
  assert.deepEqual(got, ["k1"]);
  stop();
  await worker.publish([claim("k1")]);
  await sleep(100);
  assert.equal(got.length, 1, "unsubscribed listeners hear nothing");
});

test("large batches travel in several messages and all arrive", { skip }, async (t) => {
  const channel = uniqueName("issued");
  const logger = pino({ level: "silent" });
  const api = new RedisNotifier({ publisher: redisClient(t), subscriber: redisClient(t), channel, logger });
  const ids = Array.from({ length: 1200 }, (_, i) => `k${i}`);
  const got = new Set<string>();
  for (const id of ids) await api.subscribe(id, (c) => got.add(c.claimId));
  await api.publish(ids.map(claim));
  await eventually(() => got.size === 1200);
});

test("after the subscriber reconnects, awaited claims are read again (pub/sub may have dropped the event)", {
  skip,
}, async (t) => {
  const channel = uniqueName("issued");
  const subscriber = redisClient(t);
  const issued = new Set<string>();
  const api = new RedisNotifier({
    publisher: redisClient(t),
    subscriber,
    channel,
    logger: pino({ level: "silent" }),
    recheck: async (ids) => ids.filter((id) => issued.has(id)).map(claim),
  });
  const got: string[] = [];
  await api.subscribe("k1", (c) => got.push(c.claimId));
  issued.add("k1"); // issued while nobody listened
  subscriber.disconnect(true); // reconnects
  await eventually(() => got.length === 1, 5000);
  assert.deepEqual(got, ["k1"]);
});
