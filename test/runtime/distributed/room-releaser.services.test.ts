import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { pino } from "pino";
import { RoomReleaser } from "../../../src/runtime/distributed/room-releaser.ts";
import { inDrawOrder, roomCampaign, ticketOf, untilOpen } from "../../contracts/waiting-room.ts";
import { redisRoomHarness } from "../../contracts/waiting-room-redis-harness.ts";
import { skipWithoutServices } from "../../helpers/services.ts";
import { eventually } from "../../helpers/wait.ts";

/**
 * Several releasers at once (as several workers run them) on one line in
 * Redis: every ticket released once, in line order (units handed out in
 * line order), exactly the stock, and one releasePerSecond budget for all.
 */
const skip = await skipWithoutServices();
const logger = pino({ level: "silent" });

test("three releasers at once: each ticket once, in order, exactly the stock; the rest sold out", {
  skip,
}, async (t) => {
  const h = await redisRoomHarness(t);
  const c = roomCampaign({ stock: 150 });
  await h.create(c);
  const users = Array.from({ length: 200 }, (_, i) => `user-${i}`);
  const ids = new Map<string, string>();
  for (const user of users)
    ids.set(user, ticketOf(await h.room.join({ campaignId: c.id, userId: user })).ticketId);
  const releasers = Array.from(
    { length: 3 },
    () =>
      new RoomReleaser({
        campaigns: () => h.room.campaigns(),
        release: (id, max) => h.room.release(id, max),
        intervalMs: 10,
        batch: 7,
        logger,
      }),
  );
  for (const r of releasers) r.start();
  t.after(() => Promise.all(releasers.map((r) => r.stop())));
  await untilOpen(c);
  await eventually(async () => (await h.room.stats(c.id))?.soldOut, 10_000, "sold out");
  const order = inDrawOrder(c, users);
  const views = await Promise.all(order.map((user) => h.room.ticket(c.id, ids.get(user)!)));
  assert.deepEqual(
    views.map((v) => v?.status),
    [...Array(150).fill("admitted"), ...Array(50).fill("sold_out")],
  );
  const claims = await Promise.all(views.slice(0, 150).map((v) => h.admission.getClaim(v!.claimId!)));
  assert.deepEqual(
    claims.map((claim) => claim?.unit),
    Array.from({ length: 150 }, (_, i) => i + 1),
    "units handed out in line order: released in order, each once",
  );
  assert.deepEqual(
    claims.map((claim) => claim?.userId),
    order.slice(0, 150),
  );
  assert.deepEqual(await h.admission.counters(c.id), { admitted: 150, issued: 0, held: 0 });
});

test("releasePerSecond is one budget for every releaser", { skip }, async (t) => {
  const h = await redisRoomHarness(t);
  const c = roomCampaign({ stock: 1000, startsAt: Date.now() + 500 }, { releasePerSecond: 40 });
  await h.create(c);
  for (let i = 0; i < 300; i++) await h.room.join({ campaignId: c.id, userId: `u${i}` });
  const releasers = Array.from(
    { length: 3 },
    () =>
      new RoomReleaser({
        campaigns: () => h.room.campaigns(),
        release: (id, max) => h.room.release(id, max),
        intervalMs: 20,
        logger,
      }),
  );
  await untilOpen(c);
  for (const r of releasers) r.start();
  await sleep(2000);
  await Promise.all(releasers.map((r) => r.stop()));
  const released = (await h.room.stats(c.id))!.admitted;
  assert.ok(released >= 70 && released <= 100, `about 40/s for 2 s, burst 200 ms: ${released}`);
});
