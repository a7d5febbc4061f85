import assert from "node:assert/strict";
import { test } from "node:test";
import { loadConfig } from "../../../src/config/config.ts";
import { taskSettings } from "../../../src/services/tasks/settings.ts";

test("TASK_* settings: defaults, and bad values refused naming the setting", () => {
  const config = loadConfig({});
  assert.deepEqual(taskSettings(config), {
    modules: [],
    concurrency: 4,
    maxAttempts: 5,
    backoff: { baseMs: 1000, maxMs: 300_000 },
    timeoutMs: 300_000,
    leaseMs: 30_000,
    retention: { ttlMs: 86_400_000, deadLetterTtlMs: 604_800_000 },
  });
  assert.deepEqual(loadConfig({ TASK_MODULES: "./a.ts, b-package" }).TASK_MODULES, ["./a.ts", "b-package"]);
  for (const [name, value] of [
    ["TASK_CONCURRENCY", "0"],
    ["TASK_MAX_ATTEMPTS", "many"],
    ["TASK_LEASE_MS", "10"],
    ["TASK_TTL_S", "-5"],
  ] as const)
    assert.throws(() => loadConfig({ [name]: value }), new RegExp(`^ConfigError: invalid setting ${name}: `));
});
