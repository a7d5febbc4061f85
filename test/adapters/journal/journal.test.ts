import assert from "node:assert/strict";
import { appendFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Journal } from "../../../src/adapters/journal/journal.ts";
import { tempDir } from "../../helpers/tmp.ts";

test("append resolves after fsync, and concurrent appends share fsyncs (group commit)", async (t) => {
  const dir = tempDir(t);
  const events: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const { journal } = await Journal.open(dir, {
    sync: async (file) => {
      events.push("fsync-start");
      await gate;
      await file.datasync();
      events.push("fsync-end");
    },
  });
  const appends = Array.from({ length: 500 }, (_, i) =>
    journal.append([{ n: i }]).then(() => events.push(`ok-${i}`)),
  );
  await sleep(100);
  assert.deepEqual(events, ["fsync-start"], "nothing resolves while the fsync is held");
  release();
  await Promise.all(appends);
  assert.equal(events.indexOf("fsync-end") < events.indexOf("ok-0"), true);
  assert.ok(journal.fsyncCount <= 3, `500 appends took ${journal.fsyncCount} fsyncs`);
  await journal.close();
});

test("records survive a reopen until acknowledged; a torn last line is skipped", async (t) => {
  const dir = tempDir(t);
  const first = await Journal.open(dir);
  const seqs = await first.journal.append([{ a: 1 }, { a: 2 }, { a: 3 }]);
  await first.journal.ack([seqs[0]!]);
  await first.journal.close();
  // A crash mid-write leaves half a line behind.
  const segment = readdirSync(dir).find((n) => n.endsWith(".jsonl"))!;
  appendFileSync(join(dir, segment), '{"v":{"a":4');

  const second = await Journal.open(dir);
  // Acks are not written down: everything in the surviving segment comes back.
  assert.deepEqual(
    second.records.map((r) => r.value),
    [{ a: 1 }, { a: 2 }, { a: 3 }],
  );
  await second.journal.ack(second.records.map((r) => r.seq));
  await second.journal.close();
  const third = await Journal.open(dir);
  assert.deepEqual(third.records, [], "a sealed, fully acknowledged segment is deleted");
  await third.journal.close();
});

test("segments rotate by size and are deleted once acknowledged", async (t) => {
  const dir = tempDir(t);
  const { journal } = await Journal.open(dir, { segmentBytes: 200 });
  const seqs: number[] = [];
  for (let i = 0; i < 20; i++) seqs.push(...(await journal.append([{ i, pad: "x".repeat(40) }])));
  const segments = () => readdirSync(dir).filter((n) => n.endsWith(".jsonl")).length;
  assert.ok(segments() > 3, `expected several segments, got ${segments()}`);
  await journal.ack(seqs.slice(0, 10));
  const afterHalf = segments();
  await journal.ack(seqs.slice(10));
  assert.ok(segments() < afterHalf);
  assert.equal(segments(), 1, "only the open segment remains");
  await journal.close();
  const reopened = await Journal.open(dir);
  assert.deepEqual(reopened.records, []);
  await reopened.journal.close();
});

test("a failed fsync fails the append and every later one", async (t) => {
  const dir = tempDir(t);
  const { journal } = await Journal.open(dir, {
    sync: async () => {
      throw new Error("EIO");
    },
  });
  await assert.rejects(journal.append([{ a: 1 }]), /journal write failed: EIO/);
  await assert.rejects(journal.append([{ a: 2 }]), /journal write failed/);
  assert.ok(journal.failure);
  await journal.close();
});
