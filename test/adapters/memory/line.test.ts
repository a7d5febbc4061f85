import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { Line, type Place } from "../../../src/adapters/memory/line.ts";
import { arrivalKey, drawValue, prequeueKey } from "../../../src/domain/draw.ts";
import type { Ticket } from "../../../src/domain/types.ts";

/** The embedded line (src/adapters/memory/line.ts): draw order, O(1) positions that only fall, the seal. */
const seed = randomBytes(32).toString("hex");

function ticket(userId: string, prequeued: boolean): Ticket {
  return {
    ticketId: randomBytes(16).toString("base64url"),
    campaignId: "c",
    userId,
    status: "waiting",
    joinedAt: 0,
    prequeued,
    ...(prequeued ? { drawValue: drawValue(seed, userId) } : {}),
  };
}

const addPrequeued = (line: Line, userId: string) => {
  const t = ticket(userId, true);
  return line.add(t, prequeueKey(t.drawValue!), null, true);
};
const addArrival = (line: Line, userId: string) =>
  line.add(ticket(userId, false), arrivalKey(line.nextArrival), line.nextArrival, true);

test("the pre-queue takes the draw's order at the seal, merged as it grows; arrivals follow in order", () => {
  const line = new Line();
  // Enough joins for several merges of the unsorted buffer into the run.
  const users = Array.from({ length: 5000 }, (_, i) => `user-${i}`);
  for (const u of users) addPrequeued(line, u);
  assert.equal(line.position(line.byUser("user-0")!), null, "no position before the seal");
  assert.equal(line.prequeued, 5000);
  line.seal();
  line.seal();
  for (const u of ["late-0", "late-1", "late-2"]) addArrival(line, u);
  const expected = [...users].sort((a, b) => (drawValue(seed, a) < drawValue(seed, b) ? -1 : 1));
  const order: string[] = [];
  for (let place = line.head(); place; place = line.head()) {
    order.push(place.ticket.userId);
    line.advance();
  }
  assert.deepEqual(order, [...expected, "late-0", "late-1", "late-2"]);
  assert.deepEqual(
    [...line.drawPages(1000)].flat(),
    expected.map((u) => drawValue(seed, u)),
    "the draw's pages: the pre-queue's values in draw order",
  );
});

test("positions: index - released + 1, never growing; a released ticket reads 1 until admitted, then null", () => {
  const line = new Line();
  for (let i = 0; i < 10; i++) addPrequeued(line, `u${i}`);
  line.seal();
  const places: Place[] = [];
  for (let p = line.head(); p; p = line.head()) {
    places.push(p);
    line.advance();
  }
  const fresh = new Line();
  for (let i = 0; i < 10; i++) addPrequeued(fresh, `u${i}`);
  fresh.seal();
  const last = fresh.byUser(places.at(-1)!.ticket.userId)!;
  const positions: number[] = [];
  for (let i = 0; i < 9; i++) {
    positions.push(fresh.position(last)!);
    const head = fresh.head()!;
    fresh.advance();
    assert.equal(fresh.position(head), 1, "released, not yet admitted");
    fresh.admit(head, head.ticket.ticketId);
    assert.equal(fresh.position(head), null);
  }
  assert.deepEqual(positions, [10, 9, 8, 7, 6, 5, 4, 3, 2]);
  assert.deepEqual([fresh.waiting, fresh.admitted], [1, 9]);
});

test("a restart's line: admitted tickets at the front are passed over", () => {
  const line = new Line();
  line.seal();
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) ids.push(addArrival(line, `u${i}`).ticket.ticketId);
  for (const id of ids.slice(0, 2)) {
    const place = line.byId(id)!;
    place.ticket.status = "waiting";
    line.admit(place, id);
  }
  assert.equal(line.skipAdmitted()?.ticket.userId, "u2");
  assert.equal(line.position(line.byUser("u4")!), 3);
});

test("arrival numbers are never given twice, also past a gap a crash left", () => {
  const line = new Line();
  line.seal();
  for (const n of [1, 2, 4]) line.add(ticket(`u${n}`, false), arrivalKey(n), n, true);
  assert.equal(line.nextArrival, 5);
  assert.equal(line.position(line.byUser("u4")!), 3);
});

test("250,000 pre-queued joins and the seal stay well within a second each (a million: ~2.6 s and ~0.4 s)", (t) => {
  const line = new Line();
  const N = 250_000;
  const keys = randomBytes(16 * N).toString("hex");
  const started = performance.now();
  for (let i = 0; i < N; i++) {
    const t: Ticket = {
      ticketId: String(i),
      campaignId: "c",
      userId: String(i),
      status: "waiting",
      joinedAt: 0,
      prequeued: true,
    };
    line.add(t, prequeueKey(keys.slice(i * 32, i * 32 + 32)), null, true);
  }
  const joined = performance.now();
  line.seal();
  const sealed = performance.now();
  assert.ok(sealed - joined < 1000, `the seal (the draw): ${Math.round(sealed - joined)} ms`);
  assert.ok(joined - started < 3000, `the joins: ${Math.round(joined - started)} ms`);
  const place = line.byId("125000")!;
  assert.ok(line.position(place)! >= 1);
  t.diagnostic(
    `${N} pre-queue joins ${Math.round(joined - started)} ms, seal ${Math.round(sealed - joined)} ms`,
  );
});
