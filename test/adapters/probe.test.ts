import assert from "node:assert/strict";
import { test } from "node:test";
import { probe } from "../../src/adapters/probe.ts";

test("a probe that answers is ok; one that fails names its error", async () => {
  assert.deepEqual(await probe("redis", async () => undefined, 100), { name: "redis", ok: true });
  assert.deepEqual(
    await probe(
      "redis",
      async () => {
        throw new Error("ECONNREFUSED");
      },
      100,
    ),
    { name: "redis", ok: false, error: "ECONNREFUSED" },
  );
});

test("a probe that hangs is reported not ready after its timeout", async () => {
  const started = performance.now();
  const status = await probe("postgresql", () => new Promise<void>(() => undefined), 50);
  const ms = performance.now() - started;
  assert.deepEqual(status, { name: "postgresql", ok: false, error: "did not answer within 50 ms" });
  assert.ok(ms >= 45 && ms < 1000, `answered after ${ms} ms`);
});
