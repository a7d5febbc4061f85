import assert from "node:assert/strict";
import { test } from "node:test";
import { inDrawOrder, roomCampaign, shuffled, untilOpen } from "../../contracts/waiting-room.ts";
import { kafkaEnv, skipWithoutKafka } from "../../helpers/kafka.ts";
import {
  checkReleasedInOrder,
  joinAll,
  ledgerInUnitOrder,
  startRoomCluster,
} from "../../helpers/room-cluster.ts";
import { skipWithoutServices } from "../../helpers/services.ts";
import { eventually } from "../../helpers/wait.ts";

/**
 * The waiting room in Kafka mode with real `stampede worker` processes
 * releasing: the released claims go to the outbox in the release's own
 * step and the releasing worker produces them at once (kafka-waiting-room.ts),
 * long before the relay's lease: the outbox is empty well within
 * KAFKA_OUTBOX_LEASE_MS (3 s here) of the release.
 */
const skip = (await skipWithoutServices()) || (await skipWithoutKafka());

test("kafka: 500 in the pre-queue, 100 after opening, stock 300: the first 300 of the draw get claims through Kafka, the rest sold out", {
  skip,
  timeout: 180_000,
}, async (t) => {
  const rc = await startRoomCluster(t, { workers: 2, env: await kafkaEnv(t) });
  const c = roomCampaign({ id: "kdrop", stock: 300, startsAt: Date.now() + 5000 });
  await rc.api.create(c);
  const early = Array.from({ length: 500 }, (_, i) => `early-${i}`);
  const tickets = await joinAll(rc.api.room, c.id, shuffled(early), 20);
  assert.ok(Date.now() < c.startsAt!, "the pre-queue was filled before startsAt");
  await untilOpen(c);
  const late = Array.from({ length: 100 }, (_, i) => `late-${i}`);
  for (const [u, id] of await joinAll(rc.api.room, c.id, late, 1)) tickets.set(u, id);
  await eventually(async () => (await rc.api.room.stats(c.id))?.soldOut, 30_000, "sold out");
  const soldOutAt = Date.now();
  const outbox = rc.api.keys.campaign(c.id).outbox;
  await eventually(async () => (await rc.api.redis.zcard(outbox)) === 0, 10_000, "outbox empty");
  const emptiedIn = Date.now() - soldOutAt;
  assert.ok(emptiedIn < 1500, `produced by the releaser, not the relay after its lease: ${emptiedIn} ms`);
  await eventually(
    async () => (await ledgerInUnitOrder(rc.cluster, c.id)).length === 300,
    60_000,
    "300 claims in the ledger",
  );
  const intoLedger = Date.now() - c.startsAt!;
  await checkReleasedInOrder(rc, c, [...inDrawOrder(c, early), ...late], tickets);
  t.diagnostic(
    `outbox empty ${emptiedIn} ms after sold out; all 300 in the ledger ${intoLedger} ms after startsAt`,
  );
});
