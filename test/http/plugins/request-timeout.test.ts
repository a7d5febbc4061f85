import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { StampedeError } from "../../../src/domain/errors.ts";
import { withTimeout } from "../../../src/http/plugins/request-timeout.ts";

test("withTimeout: an answer in time passes through, value or error", async () => {
  assert.equal(await withTimeout(Promise.resolve(42), 100), 42);
  assert.equal(
    await withTimeout(
      sleep(20).then(() => "late but in time"),
      500,
    ),
    "late but in time",
  );
  await assert.rejects(withTimeout(Promise.reject(new Error("boom")), 100), /boom/);
});

test("withTimeout: a dependency that does not answer becomes 503 unavailable near its bound", async () => {
  const started = performance.now();
  const never = new Promise<never>(() => undefined);
  const errors = await Promise.allSettled([withTimeout(never, 100), withTimeout(never, 300)]);
  const elapsed = performance.now() - started;
  for (const result of errors) {
    assert.equal(result.status, "rejected");
    const error = (result as PromiseRejectedResult).reason as StampedeError;
    assert.ok(error instanceof StampedeError);
    assert.equal(error.code, "unavailable");
  }
  assert.ok(elapsed >= 300 && elapsed < 1000, `both bounds kept (${elapsed.toFixed(0)} ms)`);
  // The first one did not wait for the second.
  const first = performance.now();
  await assert.rejects(withTimeout(never, 100));
  assert.ok(performance.now() - first < 400);
});

test("withTimeout: a value that arrives after the deadline is handed to discard, one in time is not", async () => {
  const discarded: string[] = [];
  await assert.rejects(withTimeout(sleep(80, "late"), 20, (late) => discarded.push(late)));
  assert.equal(await withTimeout(Promise.resolve("in time"), 100, (v) => discarded.push(v)), "in time");
  await sleep(120);
  assert.deepEqual(discarded, ["late"]);
});
