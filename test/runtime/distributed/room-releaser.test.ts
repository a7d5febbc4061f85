import assert from "node:assert/strict";
import { test } from "node:test";
import type { Ticket } from "../../../src/domain/types.ts";
import { RoomReleaser } from "../../../src/runtime/distributed/room-releaser.ts";

/** The releaser's loop without Redis (with it: room-releaser.services.test.ts). */
const tickets = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ ticketId: `t${i}`, status: "admitted" }) as Ticket);

function recorder() {
  const warnings: unknown[] = [];
  return {
    warnings,
    logger: {
      warn: (fields: unknown) => warnings.push(fields),
      debug: () => undefined,
    } as never,
  };
}

test("a pass calls again while a call releases, up to maxCallsPerTick, each campaign on its own", async () => {
  const left = new Map([
    ["a", 450],
    ["b", 0],
    ["c", 10_000],
  ]);
  const calls: string[] = [];
  const { logger } = recorder();
  const releaser = new RoomReleaser({
    campaigns: async () => [...left.keys()],
    release: async (id, max) => {
      calls.push(id);
      const n = Math.min(max, left.get(id)!);
      left.set(id, left.get(id)! - n);
      return { admitted: tickets(n), soldOut: false };
    },
    batch: 200,
    maxCallsPerTick: 5,
    logger,
  });
  assert.equal(await releaser.pass(), 450 + 1000);
  assert.equal(calls.filter((c) => c === "a").length, 4, "200, 200, 50, then one that releases nothing");
  assert.equal(calls.filter((c) => c === "b").length, 1);
  assert.equal(calls.filter((c) => c === "c").length, 5, "bounded per tick");
});

test("a campaign whose release fails is logged; the others are released", async () => {
  const { logger, warnings } = recorder();
  const releaser = new RoomReleaser({
    campaigns: async () => ["bad", "good"],
    release: async (id) => {
      if (id === "bad") throw new Error("Redis did not answer");
      return { admitted: [], soldOut: true };
    },
    logger,
  });
  assert.equal(await releaser.pass(), 0);
  assert.equal(warnings.length, 1);
});
