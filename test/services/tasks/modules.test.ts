import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { ConfigError } from "../../../src/config/config.ts";
import { loadTaskModules } from "../../../src/services/tasks/modules.ts";
import { defaultRegistry, TaskRegistry } from "../../../src/services/tasks/registry.ts";
import { tempDir } from "../../helpers/tmp.ts";

const DEFINE = fileURLToPath(new URL("../../../src/services/tasks/define.ts", import.meta.url));

test("TASK_MODULES: a module's defineTask() calls register its handlers; exported definitions join the given registry", async (t) => {
  const dir = tempDir(t);
  const file = join(dir, "my-tasks.ts");
  writeFileSync(
    file,
    `import { createTask, defineTask } from ${JSON.stringify(DEFINE)};
export const resize = defineTask("modules-test-resize", { type: "object" }, ({ payload }) => payload);
export const privateOnes = [createTask("modules-test-private", true, () => 1)];
`,
  );
  const registry = new TaskRegistry();
  await loadTaskModules([file], registry);
  assert.ok(defaultRegistry().get("modules-test-resize"));
  assert.deepEqual(registry.names(), ["modules-test-private", "modules-test-resize"]);
});

test("TASK_MODULES: a module that cannot be loaded is a ConfigError naming the setting", async (t) => {
  const dir = tempDir(t);
  const broken = join(dir, "broken.ts");
  writeFileSync(broken, "throw new Error('broken on purpose');\n");
  for (const [specifier, reason] of [
    [join(dir, "missing.ts"), /Cannot find module|ERR_MODULE_NOT_FOUND|cannot find/i],
    [broken, /broken on purpose/],
  ] as const) {
    await assert.rejects(loadTaskModules([specifier], new TaskRegistry()), (error: Error) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /^invalid setting TASK_MODULES: cannot load "/);
      assert.match(error.message, reason);
      return true;
    });
  }
});
