import assert from "node:assert/strict";
import { test } from "node:test";
import type { Campaign, Ticket } from "../../src/domain/types.ts";
import type { ReleaseResult, WaitingRoomStore } from "../../src/ports/waiting-room.ts";
import { LineReleaser } from "../../src/workers/line-releaser.ts";

/** The releaser's budget (src/workers/line-releaser.ts): releasePerSecond spread over the runs, a token bucket. */
const room = (id: string, releasePerSecond: number | null, startsAt = 0): Campaign => ({
  id,
  name: id,
  stock: 1_000_000,
  perUserLimit: 1,
  startsAt,
  endsAt: null,
  createdAt: 0,
  waitingRoom: { prequeueSeconds: 60, releasePerSecond, seed: "00", commitment: "00" },
});

/** A store whose line is endless: it releases whatever it is allowed to. */
function endlessStore(asked: Map<string, number[]>): WaitingRoomStore {
  return {
    async release(campaignId: string, max: number): Promise<ReleaseResult> {
      asked.set(campaignId, [...(asked.get(campaignId) ?? []), max]);
      return { admitted: Array.from({ length: max }, () => ({}) as Ticket), soldOut: false };
    },
    join: async () => ({ kind: "campaign_not_found" }),
    ticket: async () => undefined,
    stats: async () => undefined,
    drawOrder: async function* () {},
  };
}

test("releasePerSecond is spread over the runs; without it, up to maxPerRun; nothing before startsAt", async () => {
  const asked = new Map<string, number[]>();
  let now = 10_000;
  const campaigns = [
    room("slow", 25),
    room("fast", null),
    room("later", 10, 1_000_000),
    { ...room("plain", 1), waitingRoom: null },
  ];
  const releaser = new LineReleaser({
    store: endlessStore(asked),
    campaigns: async () => campaigns,
    now: () => now,
    intervalMs: 100,
    maxPerRun: 500,
  });
  for (let i = 0; i < 40; i++) {
    await releaser.run();
    now += 100;
  }
  const slow = asked.get("slow")!;
  const released = slow.reduce((a, b) => a + b, 0);
  // 4 s at 25/s: 100, give or take the first run's share.
  assert.ok(released >= 95 && released <= 103, `25/s over 4 s released ${released}`);
  assert.ok(Math.max(...slow) <= 5, `never more than two runs' worth at once: ${Math.max(...slow)}`);
  assert.deepEqual(new Set(asked.get("fast")), new Set([500]));
  assert.equal(asked.get("later"), undefined, "nothing before startsAt");
  assert.equal(asked.get("plain"), undefined, "no room, no release");
});

test("a late timer does not make a burst: at most two runs' worth", async () => {
  const asked = new Map<string, number[]>();
  let now = 0;
  const releaser = new LineReleaser({
    store: endlessStore(asked),
    campaigns: async () => [room("r", 100)],
    now: () => now,
    intervalMs: 100,
  });
  await releaser.run();
  now += 10_000; // the process was busy for 10 s
  await releaser.run();
  assert.deepEqual(asked.get("r"), [10, 20]);
});
