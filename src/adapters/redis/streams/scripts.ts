import { readFileSync } from "node:fs";
import type { Redis } from "ioredis";

/**
 * The queue's scripts (scripts/NAME-KEYS.lua, each with its contract), defined
 * on the client with defineCommand: EVALSHA, with EVAL on a new connection
 * or after NOSCRIPT.
 */
const dir = new URL("../lua/", import.meta.url);
const TRIM = readFileSync(new URL("trim-acknowledged-1.lua", dir), "utf8");
const PUBLISH = readFileSync(new URL("publish-capped-1.lua", dir), "utf8");

export type Scripted = Redis & {
  stampede_trimAcknowledged(stream: string): Promise<number>;
  stampede_publishCapped(stream: string, cap: number, field: string, value: string): Promise<string | null>;
};

export function defineStreamScripts(redis: Redis): Scripted {
  if (typeof (redis as unknown as Record<string, unknown>).stampede_trimAcknowledged !== "function") {
    redis.defineCommand("stampede_trimAcknowledged", { lua: TRIM, numberOfKeys: 1 });
    redis.defineCommand("stampede_publishCapped", { lua: PUBLISH, numberOfKeys: 1 });
  }
  return redis as Scripted;
}
