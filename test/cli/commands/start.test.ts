import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { tempDir } from "../../helpers/tmp.ts";

const BIN = fileURLToPath(new URL("../../../bin/stampede.js", import.meta.url));

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
