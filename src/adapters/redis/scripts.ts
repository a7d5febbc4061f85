/**
 * Every Lua script stampede runs in Redis, behind one loader. One file per
 * atomic operation in lua/, named NAME-KEYS.lua (`n`: the caller passes as
 * many keys as it needs), each opening with its contract (KEYS, ARGV, return
 * codes). A line `-- @include FILE.lua` is replaced, when the script is
 * loaded, by lua/includes/FILE.lua: helpers written once (Redis TIME in ms,
 * reading and writing a packed claim, reading a holders entry, ending a
 * hold).
 *
 * Scripts are registered with ioredis' defineCommand: it sends EVALSHA, and
 * EVAL the first time on each connection and again after a NOSCRIPT (a
 * restarted, flushed or failed-over Redis, a replica promoted by a Redis
 * Cluster), so a script is never "missing" for longer than one round trip.
 * Scripts of a variable key count send EVALSHA themselves (see
 * redisScripts). They go through auto-pipelining like any other command. Each script family maps its return codes in one place
 * (admission/codes.ts, the task store's start(), ...).
 */

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { RedisClient } from "./connection.ts";

/** The scripts, by the name callers use, and their files in lua/. */
export const SCRIPT_FILES = {
  // Admission (codes: admission/codes.ts)
  admit: "admit-9",
  markWritten: "mark-written-3",
  confirm: "confirm-6",
  release: "release-6",
  reap: "reap-6",
  changeCampaign: "change-campaign-5",
  forgetUser: "forget-user-3",
  answerSnapshot: "answer-snapshot-2",
  rebuildBegin: "rebuild-begin-4",
  rebuildLoad: "rebuild-load-n",
  rebuildOpen: "rebuild-open-1",
  lockExtend: "lock-extend-1",
  lockRelease: "lock-release-1",
  retire: "retire-5",
  // Campaigns over shards: transfers and the sold-out check (admission/shards.ts)
  shardGive: "shard-give-3",
  shardTake: "shard-take-3",
  shardLook: "shard-look-2",
  shardSoldOut: "shard-sold-out-1",
  // Waiting room (codes: waiting-room/codes.ts)
  roomJoin: "room-join-5",
  roomTicket: "room-ticket-3",
  roomRelease: "room-release-8",
  roomDraw: "room-draw-2",
  // Kafka mode's outbox
  outboxTake: "outbox-take-2",
  outboxAck: "outbox-ack-2",
  // Redis Streams queue
  publishCapped: "publish-capped-1",
  trimAcknowledged: "trim-acknowledged-1",
  // Task store
  rememberKey: "remember-key-1",
  createTask: "create-task-1",
  startTask: "start-task-3",
  renewTask: "renew-task-2",
  finishTask: "finish-task-3",
  releaseTask: "release-task-2",
  dueTasks: "due-tasks-1",
  retryDeadLetter: "retry-dead-letter-3",
  // Rate limiter
  rateLimit: "rate-limit-n",
} as const;

export type ScriptName = keyof typeof SCRIPT_FILES;

/** A Buffer goes as its bytes (binary ARGV: room-join-5's order key). */
export type ScriptArg = string | number | Buffer;

/** Runs one script with its KEYS and ARGV; resolves with the script's reply. */
export type Script = (keys: readonly string[], argv?: readonly ScriptArg[]) => Promise<unknown>;

export type Scripts = Record<ScriptName, Script>;

const LUA_DIR = new URL("./lua/", import.meta.url);
const INCLUDE = /^-- @include ([\w.-]+\.lua)[ \t]*$/gm;
const COMMAND_PREFIX = "stampede_";

/** A script's source, includes in place. */
export function scriptSource(name: ScriptName): string {
  const source = readFileSync(new URL(`${SCRIPT_FILES[name]}.lua`, LUA_DIR), "utf8");
  return source.replace(INCLUDE, (_, file: string) =>
    readFileSync(new URL(`includes/${file}`, LUA_DIR), "utf8").trimEnd(),
  );
}

/** The fixed key count a script's file name declares, or undefined for `-n` (variable). */
export function keyCount(name: ScriptName): number | undefined {
  const count = SCRIPT_FILES[name].split("-").at(-1)!;
  return count === "n" ? undefined : Number(count);
}

const sources = new Map<ScriptName, string>();
const defined = new WeakMap<RedisClient, Scripts>();

/**
 * The scripts on this client, defined on it the first time it is asked for
 * them. A script of a variable key count (`-n`) is sent as EVALSHA itself
 * (EVAL after a NOSCRIPT) rather than as a command defined with ioredis:
 * auto-pipelining on a Redis Cluster routes a command it does not know by
 * its first argument, which for such a command is the key count, and would
 * put it in the wrong node's pipeline (failing that whole pipeline: "All keys
 * in the pipeline should belong to the same slots allocation group");
 * EVALSHA it knows, and routes by the first key.
 */
export function redisScripts(redis: RedisClient): Scripts {
  let scripts = defined.get(redis);
  if (scripts) return scripts;
  scripts = {} as Scripts;
  const client = redis as unknown as Record<string, (...args: ScriptArg[]) => Promise<unknown>>;
  for (const name of Object.keys(SCRIPT_FILES) as ScriptName[]) {
    const keys = keyCount(name);
    let lua = sources.get(name);
    if (lua === undefined) {
      lua = scriptSource(name);
      sources.set(name, lua);
    }
    if (keys === undefined) {
      scripts[name] = variableKeys(redis, lua);
      continue;
    }
    const command = `${COMMAND_PREFIX}${name}`;
    redis.defineCommand(command, { lua, numberOfKeys: keys });
    scripts[name] = (k, argv = []) => {
      if (k.length !== keys)
        return Promise.reject(new Error(`script ${name} takes ${keys} keys, got ${k.length}`));
      return client[command]!.call(redis, ...k, ...argv);
    };
  }
  defined.set(redis, scripts);
  return scripts;
}

/** A `-n` script: EVALSHA, and EVAL when this Redis does not have it (restarted, flushed, failed over). */
function variableKeys(redis: RedisClient, lua: string): Script {
  const sha = createHash("sha1").update(lua).digest("hex");
  return async (k, argv = []) => {
    try {
      return await redis.evalsha(sha, k.length, ...k, ...argv);
    } catch (error) {
      if (!String((error as Error).message).startsWith("NOSCRIPT")) throw error;
      return redis.eval(lua, k.length, ...k, ...argv);
    }
  };
}
