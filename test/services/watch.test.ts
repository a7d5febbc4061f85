import assert from "node:assert/strict";
import { test } from "node:test";
import { subscribeThenRead } from "../../src/services/watch.ts";

/** A source of changes whose subscription and read the test drives by hand. */
function source() {
  const listeners = new Set<(value: number) => void>();
  return {
    listeners,
    emit: (value: number) => {
      for (const listener of listeners) listener(value);
    },
    subscribe: async (listener: (value: number) => void) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

test("a change between subscribing and reading is handed over first, then live ones", async () => {
  const changes = source();
  const watched = await subscribeThenRead(changes.subscribe, async () => {
    changes.emit(2); // lands while the read is in flight
    return 1;
  });
  assert.equal(watched.current, 1);
  const seen: number[] = [];
  watched.listen((value) => seen.push(value));
  changes.emit(3);
  assert.deepEqual(seen, [2, 3]);
  watched.stop();
  assert.equal(changes.listeners.size, 0);
});

test("a read that fails unsubscribes before it rethrows", async () => {
  const changes = source();
  await assert.rejects(
    subscribeThenRead(changes.subscribe, async () => Promise.reject(new Error("gone"))),
    /gone/,
  );
  assert.equal(changes.listeners.size, 0);
});
