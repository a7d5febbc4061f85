import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { ConfigError } from "../../config/config.ts";
import { isTaskDefinition } from "./define.ts";
import type { TaskRegistry } from "./registry.ts";

/**
 * Imports the modules named in TASK_MODULES (paths relative to the working
 * directory, or package names). Their defineTask() calls register into the
 * default registry as they load; definitions they export are also added to
 * `registry`, which covers modules that use createTask() or carry their own
 * copy of stampede. A module that fails to load stops the start with one line.
 */
export async function loadTaskModules(specifiers: readonly string[], registry: TaskRegistry): Promise<void> {
  for (const specifier of specifiers) {
    const looksLikePath = /^(\.{1,2}\/|\/)/.test(specifier) || /\.[cm]?[jt]s$/.test(specifier);
    const target = looksLikePath ? pathToFileURL(resolve(specifier)).href : specifier;
    try {
      const exported = (await import(target)) as Record<string, unknown>;
      for (const value of Object.values(exported)) {
        const values = Array.isArray(value) ? value : [value];
        for (const item of values) if (isTaskDefinition(item)) registry.add(item);
      }
    } catch (error) {
      throw new ConfigError("TASK_MODULES", `cannot load "${specifier}": ${(error as Error).message}`);
    }
  }
}
