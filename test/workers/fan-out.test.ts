import assert from "node:assert/strict";
import { test } from "node:test";
import type { Claim } from "../../src/domain/types.ts";
import type { IssuedSink } from "../../src/ports/delivery.ts";
import { fanOut } from "../../src/workers/fan-out.ts";

test("fanOut publishes to every sink and fails when one fails (the worker then redelivers)", async () => {
  const seen: string[] = [];
  const ok = (name: string): IssuedSink => ({ publish: async (c) => void seen.push(`${name}:${c.length}`) });
  const claims = [{ claimId: "c" } as Claim];
  await fanOut([ok("webhook"), ok("kafka")]).publish(claims);
  assert.deepEqual(seen.sort(), ["kafka:1", "webhook:1"]);
  const failing: IssuedSink = { publish: async () => Promise.reject(new Error("broker down")) };
  await assert.rejects(fanOut([ok("webhook"), failing]).publish(claims), /broker down/);
});
