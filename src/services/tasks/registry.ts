import type { TaskDefinition } from "./define.ts";

/**
 * Task types by name. defineTask() registers into the process's default
 * registry, so a handler module only has to be imported (TASK_MODULES);
 * tests build private registries instead.
 */
export class TaskRegistry {
  readonly #byName = new Map<string, TaskDefinition>();

  constructor(definitions: Iterable<TaskDefinition> = []) {
    for (const definition of definitions) this.add(definition);
  }

  /** Adds a definition; the same object twice is fine, another one under a taken name is an error. */
  add(definition: TaskDefinition): void {
    const existing = this.#byName.get(definition.name);
    if (existing === definition) return;
    if (existing) throw new Error(`task type "${definition.name}" is defined twice`);
    this.#byName.set(definition.name, definition);
  }

  get(name: string): TaskDefinition | undefined {
    return this.#byName.get(name);
  }

  names(): string[] {
    return [...this.#byName.keys()].sort();
  }
}

// On globalThis under Symbol.for, so that two copies of this module (a handler
// module importing src/ while the server runs dist/) share one registry.
const KEY = Symbol.for("stampede.task-registry");

export function defaultRegistry(): TaskRegistry {
  const holder = globalThis as unknown as Record<symbol, TaskRegistry | undefined>;
  holder[KEY] ??= new TaskRegistry();
  return holder[KEY];
}
