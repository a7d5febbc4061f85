import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { RoomEventKind } from "../../../../src/adapters/redis/waiting-room/codes.ts";
import { roomCampaign, ticketOf, untilOpen } from "../../../contracts/waiting-room.ts";
import { redisRoomHarness } from "../../../contracts/waiting-room-redis-harness.ts";
import { deleteKeys, REDIS_URL, skipWithoutServices } from "../../../helpers/services.ts";
import { eventually } from "../../../helpers/wait.ts";

/**
 * What RedisWaitingRoom adds to the port (the contract: test/contracts/waiting-room.ts): the room
 * events its releases publish, ticket keys learned again after a loss, a campaign lost with Redis.
 */
const skip = await skipWithoutServices();

test("subscribe: one subscription hears the line move and sell out", { skip }, async (t) => {
  const h = await redisRoomHarness(t);
  const c = roomCampaign({ stock: 1 });
  await h.create(c);
  await h.room.join({ campaignId: c.id, userId: "a" });
  await h.room.join({ campaignId: c.id, userId: "b" });
  const heard: [RoomEventKind, string][] = [];
  const stop = await h.room.subscribe((kind, campaignId) => heard.push([kind, campaignId]));
  await untilOpen(c);
  await h.room.release(c.id, 10);
  await eventually(() => heard.length === 2, 5000, "two events");
  assert.deepEqual(heard, [
    ["moved", c.id],
    ["sold_out", c.id],
  ]);
  stop();
});

test("a process that cached another ticket key (the state was loaded again since) learns the current one", {
  skip,
}, async (t) => {
  const h = await redisRoomHarness(t);
  const c = roomCampaign();
  await h.create(c);
  const first = ticketOf(await h.room.join({ campaignId: c.id, userId: "alice" }));
  // Another API process, which first joined before the key changed: its cached key is stale.
  const other = h.admission.waitingRoom();
  await other.join({ campaignId: c.id, userId: "bob" });
  await h.redis.hset(h.keys.campaign(c.id).state, "roomKey", "ab".repeat(32));
  const carol = ticketOf(await other.join({ campaignId: c.id, userId: "carol" }));
  const again = ticketOf(await h.room.join({ campaignId: c.id, userId: "carol" }), "existing");
  assert.equal(again.ticketId, carol.ticketId, "both processes derive carol's id with the current key");
  assert.notEqual(first.ticketId, carol.ticketId);
});

test("Redis lost: the state is rebuilt from the ledger, the line starts again, a claim held is named at release", {
  skip,
  timeout: 60_000,
}, async (t) => {
  const h = await redisRoomHarness(t);
  const c = roomCampaign({ stock: 5 });
  await h.create(c);
  for (const user of ["a", "b"]) await h.room.join({ campaignId: c.id, userId: user });
  await untilOpen(c);
  const released = await h.room.release(c.id, 10);
  assert.equal(released.admitted.length, 2);
  // The workers write the claims, then Redis loses everything of this prefix.
  const claims = await Promise.all(released.admitted.map((x) => h.admission.getClaim(x.claimId!)));
  const written = await h.ledger.write(
    claims.map((x) => x!),
    Date.now(),
  );
  await h.admission.markWritten(written.written);
  await deleteKeys(REDIS_URL, `${h.keys.prefix}:*`);
  await sleep(50);
  // The next join loads the campaign again (a rebuild from the ledger), into an empty line.
  const again = await eventually(
    async () => {
      const outcome = await h.room.join({ campaignId: c.id, userId: "a" });
      return outcome.kind === "joined" ? outcome.ticket : undefined;
    },
    15_000,
    "joined after the rebuild",
  );
  assert.equal(again.prequeued, false, "after startsAt: behind everyone");
  assert.deepEqual(await h.room.stats(c.id), { waiting: 1, prequeued: 0, admitted: 0, soldOut: false });
  const next = await h.room.release(c.id, 10);
  assert.deepEqual(
    next.admitted.map((x) => [x.userId, x.claimId]),
    [["a", released.admitted.find((x) => x.userId === "a")!.claimId]],
    "the claim the ledger holds, not a second one",
  );
  assert.deepEqual(await h.admission.counters(c.id), { admitted: 2, issued: 2, held: 0 });
});
