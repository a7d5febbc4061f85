import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { PeriodicTask } from "../../src/workers/periodic-task.ts";

function recorder() {
  const warnings: string[] = [];
  return {
    warnings,
    logger: {
      warn: (_: unknown, message: string) => {
        warnings.push(message);
      },
    },
  };
}

test("runs every interval, never two at once; stop() waits for the run in hand", async () => {
  const { logger } = recorder();
  let running = 0;
  let most = 0;
  let runs = 0;
  let finished = 0;
  const task = new PeriodicTask({
    intervalMs: 5,
    logger,
    failureMessage: "failed",
    run: async () => {
      runs++;
      running++;
      most = Math.max(most, running);
      await sleep(30);
      running--;
      finished++;
    },
  });
  task.start();
  task.start(); // a no-op while started
  await sleep(100);
  await task.stop();
  assert.ok(runs >= 2, `runs: ${runs}`);
  assert.equal(most, 1, "never overlapping");
  assert.equal(finished, runs, "stop() waited for the run in hand");
  await sleep(30);
  assert.equal(runs, finished, "nothing runs after stop()");
  assert.equal(task.started, false);
});

test("a failing run (rejected or thrown) is logged, and the next one comes", async () => {
  const { logger, warnings } = recorder();
  let runs = 0;
  const task = new PeriodicTask({
    intervalMs: 5,
    logger,
    failureMessage: "the check failed",
    run: () => {
      runs++;
      if (runs === 1) throw new Error("sync");
      return Promise.reject(new Error("async"));
    },
  });
  task.start();
  await sleep(50);
  await task.stop();
  assert.ok(runs >= 2, `runs: ${runs}`);
  assert.ok(warnings.length >= 2 && warnings.every((w) => w === "the check failed"));
  task.start();
  await sleep(20);
  await task.stop();
  assert.ok(runs >= 3, "starts again after stop()");
});
