import assert from "node:assert/strict";
import { test } from "node:test";
import { pino } from "pino";
import { Breaker } from "../../../../src/adapters/kafka/admission/breaker.ts";
import { KafkaWaitingRoom } from "../../../../src/adapters/kafka/admission/kafka-waiting-room.ts";
import { Outbox } from "../../../../src/adapters/kafka/admission/outbox.ts";
import { OutboxRelay } from "../../../../src/adapters/kafka/admission/outbox-relay.ts";
import { outboxSink } from "../../../../src/adapters/kafka/admission/outbox-sink.ts";
import type { Claim } from "../../../../src/domain/types.ts";
import { roomCampaign, untilOpen } from "../../../contracts/waiting-room.ts";
import { redisRoomHarness } from "../../../contracts/waiting-room-redis-harness.ts";
import { skipWithoutServices } from "../../../helpers/services.ts";

/**
 * Kafka mode's releases, against real Redis and the real release script
 * (sink "outbox"), Kafka's produce faked: the released claims are in the
 * outbox in the same step, produced at once and taken off it; a failed
 * produce leaves them for the relay and stops releases until Kafka answers.
 */
const skip = await skipWithoutServices();
const logger = pino({ level: "silent" });

async function setup(t: Parameters<typeof redisRoomHarness>[0]) {
  const h = await redisRoomHarness(t, {
    sinkOf: () => outboxSink({ queue: { waitUntilConsumed: async () => undefined }, cap: 1000, logger }),
  });
  const outbox = new Outbox(h.redis, h.keys);
  const sent: Claim[][] = [];
  const kafka = { fail: false };
  const publish = async (claims: Claim[]) => {
    if (kafka.fail) throw new Error("no broker");
    sent.push(claims);
  };
  const breaker = new Breaker({ baseMs: 60_000 });
  const room = new KafkaWaitingRoom({ inner: h.room, outbox, publish, logger, breaker });
  return { ...h, outbox, sent, kafka, publish, room, breaker };
}

test("kafka waiting room: released claims are produced at once and leave the outbox", { skip }, async (t) => {
  const s = await setup(t);
  const c = roomCampaign({ stock: 10 });
  await s.create(c);
  for (const user of ["a", "b", "c"]) await s.room.join({ campaignId: c.id, userId: user });
  await untilOpen(c);
  const { admitted } = await s.room.release(c.id, 10);
  assert.equal(admitted.length, 3);
  assert.deepEqual(
    s.sent.flat().map((claim) => claim.claimId),
    admitted.map((x) => x.claimId),
  );
  assert.ok(s.sent.flat().every((claim) => claim.status === "pending"));
  assert.equal(await s.redis.zcard(s.keys.campaign(c.id).outbox), 0);
  assert.equal(await s.redis.exists(s.keys.campaign(c.id).stream), 0, "no stream in Kafka mode");
});

test("kafka waiting room: a failed produce leaves the claims to the relay and holds releases back", {
  skip,
}, async (t) => {
  const s = await setup(t);
  const c = roomCampaign({ stock: 10 });
  await s.create(c);
  for (const user of ["a", "b", "c"]) await s.room.join({ campaignId: c.id, userId: user });
  await untilOpen(c);
  s.kafka.fail = true;
  const first = await s.room.release(c.id, 1);
  assert.equal(first.admitted.length, 1, "released: the claim is in the outbox");
  assert.equal(await s.redis.zcard(s.keys.campaign(c.id).outbox), 1);
  assert.deepEqual(await s.room.release(c.id, 10), { admitted: [], soldOut: false }, "the breaker is open");
  assert.equal((await s.room.stats(c.id))?.admitted, 1);
  s.kafka.fail = false;
  const relay = new OutboxRelay({
    outbox: s.outbox,
    publish: s.publish,
    logger,
    leaseMs: 0,
    intervalMs: 1000,
  });
  assert.equal(await relay.pass(), 1);
  assert.deepEqual(
    s.sent.flat().map((claim) => claim.claimId),
    [first.admitted[0]!.claimId],
  );
  assert.equal(await s.redis.zcard(s.keys.campaign(c.id).outbox), 0);
});
