import assert from "node:assert/strict";
import { test } from "node:test";
import { CommitTracker } from "../../../src/adapters/kafka/queue/commit-tracker.ts";

const at = (partition: number, offset: number) => ({
  topic: "tasks",
  partition,
  offset: BigInt(offset),
  leaderEpoch: 0,
});
const targets = (tracker: CommitTracker) => tracker.pending().map((o) => `${o.partition}@${o.offset}`);

test("a later batch that finishes first commits nothing past an earlier one still running", () => {
  const tracker = new CommitTracker();
  tracker.read([at(0, 5)]);
  tracker.read([at(0, 6)]);
  tracker.read([at(0, 7)]);
  tracker.done([at(0, 7)]);
  tracker.done([at(0, 6)]);
  assert.deepEqual(targets(tracker), ["0@5"], "5 is still running: the commit stays before it");
  tracker.done([at(0, 5)]);
  assert.deepEqual(targets(tracker), ["0@8"]);
});

test("the commit stops at the lowest offset in hand, per partition", () => {
  const tracker = new CommitTracker();
  tracker.read([at(0, 0), at(1, 0)]);
  tracker.done([at(0, 0), at(1, 0)]);
  tracker.read([at(0, 1)]);
  tracker.read([at(0, 2)]);
  tracker.read([at(1, 1)]);
  tracker.done([at(0, 2)]);
  assert.deepEqual(targets(tracker), ["0@1", "1@1"]);
  tracker.committed(tracker.pending());
  assert.deepEqual(targets(tracker), [], "nothing moved since");
  tracker.done([at(1, 1)]);
  assert.deepEqual(targets(tracker), ["1@2"]);
  assert.equal(tracker.inHand, 1);
});

test("an offset read twice (a rebalance) holds the commit until both reads are done", () => {
  const tracker = new CommitTracker();
  tracker.read([at(0, 3)]);
  tracker.read([at(0, 3)]);
  tracker.read([at(0, 4)]);
  tracker.done([at(0, 3)]);
  tracker.done([at(0, 4)]);
  assert.deepEqual(targets(tracker), ["0@3"]);
  tracker.committed(tracker.pending());
  assert.deepEqual(targets(tracker), []);
  tracker.done([at(0, 3)]);
  assert.deepEqual(targets(tracker), ["0@5"]);
});

test("a commit the broker refused is offered again; an accepted one never moves back", () => {
  const tracker = new CommitTracker();
  tracker.read([at(0, 0)]);
  tracker.done([at(0, 0)]);
  assert.deepEqual(targets(tracker), ["0@1"]);
  // The commit failed: committed() was not called, the same offset comes again.
  assert.deepEqual(targets(tracker), ["0@1"]);
  tracker.committed([at(0, 9)]);
  tracker.read([at(0, 1)]);
  tracker.done([at(0, 1)]);
  assert.deepEqual(targets(tracker), [], "2 is behind what was committed");
});
