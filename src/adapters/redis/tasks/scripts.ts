import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Redis } from "ioredis";

/**
 * The task store's Lua scripts (./scripts/*.lua, one per atomic operation,
 * named after it and its key count). Run with EVALSHA, falling back to EVAL
 * when Redis answers NOSCRIPT (after a restart or a failover the script
 * cache is empty), which also loads the script for the next call.
 */
export class Script {
  readonly name: string;
  readonly #lua: string;
  readonly #sha: string;
  readonly #keys: number;

  constructor(file: string) {
    this.name = file;
    this.#lua = readFileSync(new URL(`../lua/${file}`, import.meta.url), "utf8");
    this.#sha = createHash("sha1").update(this.#lua).digest("hex");
    const keys = /-(\d+)\.lua$/.exec(file);
    if (!keys) throw new Error(`script ${file} must end in -<number of keys>.lua`);
    this.#keys = Number(keys[1]);
  }

  async run(redis: Redis, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    if (keys.length !== this.#keys)
      throw new Error(`${this.name} takes ${this.#keys} keys, got ${keys.length}`);
    try {
      return await redis.evalsha(this.#sha, this.#keys, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith("NOSCRIPT")) throw error;
      return redis.eval(this.#lua, this.#keys, ...keys, ...args);
    }
  }
}

export const SCRIPTS = {
  rememberKey: new Script("remember-key-1.lua"),
  create: new Script("create-task-1.lua"),
  start: new Script("start-task-3.lua"),
  renew: new Script("renew-task-2.lua"),
  finish: new Script("finish-task-3.lua"),
  release: new Script("release-task-2.lua"),
  due: new Script("due-tasks-1.lua"),
  retryDeadLetter: new Script("retry-dead-letter-3.lua"),
};
