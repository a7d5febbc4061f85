import assert from "node:assert/strict";
import { test } from "node:test";
import type { Campaign, Ticket } from "../../src/domain/types.ts";
import type { ReleaseResult, WaitingRoomStore } from "../../src/ports/waiting-room.ts";
import { LineReleaser } from "../../src/workers/line-releaser.ts";

/** The embedded releaser (src/workers/line-releaser.ts): which rooms it asks, and for how many; the rate is the store's. */
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

test("every started room is asked for up to maxPerRun, whatever its rate (the store keeps it); nothing before startsAt", async () => {
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
    maxPerRun: 500,
  });
  for (let i = 0; i < 4; i++) {
    await releaser.run();
    now += 100;
  }
  assert.deepEqual(asked.get("slow"), [500, 500, 500, 500]);
  assert.deepEqual(asked.get("fast"), [500, 500, 500, 500]);
  assert.equal(asked.get("later"), undefined, "nothing before startsAt");
  assert.equal(asked.get("plain"), undefined, "no room, no release");
});

test("onRelease hears of releases and of sold-out flag changes only", async () => {
  const heard: [string, ReleaseResult][] = [];
  const results: ReleaseResult[] = [
    { admitted: [], soldOut: false },
    { admitted: [{} as Ticket], soldOut: false },
    { admitted: [], soldOut: true },
    { admitted: [], soldOut: true },
    { admitted: [], soldOut: false },
  ];
  const store: WaitingRoomStore = { ...endlessStore(new Map()), release: async () => results.shift()! };
  const releaser = new LineReleaser({
    store,
    campaigns: async () => [room("r", null)],
    onRelease: (id, result) => heard.push([id, result]),
  });
  for (let i = 0; i < 5; i++) await releaser.run();
  assert.deepEqual(
    heard.map(([, r]) => [r.admitted.length, r.soldOut]),
    [
      [1, false],
      [0, true],
      [0, false],
    ],
  );
});
