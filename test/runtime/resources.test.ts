import assert from "node:assert/strict";
import { test } from "node:test";
import { pino } from "pino";
import { openWith, Resources } from "../../src/runtime/resources.ts";

const logger = pino({ level: "silent" });

test("close runs every close, last registered first, once, and goes on past one that fails", async () => {
  const closed: string[] = [];
  const resources = new Resources(logger);
  const ledger = resources.add("ledger", { name: "ledger" }, (l) => closed.push(l.name));
  resources.add("queue", "queue", async (q) => {
    closed.push(q);
    throw new Error("stuck");
  });
  resources.defer("worker", () => closed.push("worker"));
  assert.equal(ledger.name, "ledger", "add returns the resource");
  await Promise.all([resources.close(), resources.close()]);
  await resources.close();
  assert.deepEqual(closed, ["worker", "queue", "ledger"]);
});

test("a start that fails closes what it had opened, in reverse, and rethrows", async () => {
  const closed: string[] = [];
  await assert.rejects(
    openWith(logger, async (resources) => {
      resources.defer("redis", () => closed.push("redis"));
      resources.defer("ledger", () => closed.push("ledger"));
      throw new Error("cannot open the journal");
    }),
    /cannot open the journal/,
  );
  assert.deepEqual(closed, ["ledger", "redis"]);
});

test("a start that succeeds leaves its resources open for the runtime to close", async () => {
  const closed: string[] = [];
  const runtime = await openWith(logger, async (resources) => {
    resources.defer("ledger", () => closed.push("ledger"));
    return { close: () => resources.close() };
  });
  assert.deepEqual(closed, []);
  await runtime.close();
  assert.deepEqual(closed, ["ledger"]);
});
