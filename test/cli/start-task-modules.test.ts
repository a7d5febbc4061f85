import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { loadConfig } from "../../src/config/config.ts";
import { taskSettings } from "../../src/tasks/settings.ts";
import { tempDir } from "../helpers/tmp.ts";

const BIN = fileURLToPath(new URL("../../bin/stampede.js", import.meta.url));

test("stampede start refuses a TASK_MODULES entry it cannot load, in one line naming the setting", (t) => {
  const dir = tempDir(t);
  const run = spawnSync(process.execPath, [BIN, "start"], {
    env: { ...process.env, DATA_DIR: dir, PORT: "0", TASK_MODULES: join(dir, "no-such-tasks.ts") },
    encoding: "utf8",
    timeout: 20_000,
  });
  assert.equal(run.status, 2, run.stderr);
  const lines = run.stderr.trim().split("\n");
  assert.equal(lines.length, 1, run.stderr);
  assert.match(lines[0]!, /^stampede: invalid setting TASK_MODULES: cannot load ".*no-such-tasks\.ts"/);
});

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
