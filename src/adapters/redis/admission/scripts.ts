import { readFileSync } from "node:fs";
import type { Redis } from "ioredis";

/**
 * The admission scripts, one file per atomic operation (scripts/NAME-KEYS.lua,
 * `n` = variable key count), each opening with its contract (KEYS, ARGV,
 * return codes). They are registered with ioredis' defineCommand: it sends
 * EVALSHA, and EVAL the first time on each connection and again after a
 * NOSCRIPT (a restarted, flushed or failed-over Redis), so a script is never
 * "missing" for longer than one round trip. Scripts go through
 * auto-pipelining like any other command.
 */
const SCRIPTS = {
  admit: "admit-6",
  markIssued: "mark-issued-2",
  rebuildBegin: "rebuild-begin-3",
  rebuildLoad: "rebuild-load-n",
  rebuildOpen: "rebuild-open-1",
  soldOutSnapshot: "sold-out-snapshot-2",
  lockExtend: "lock-extend-1",
  lockRelease: "lock-release-1",
  changeCampaign: "change-campaign-5",
  forgetUser: "forget-user-3",
  retire: "retire-5",
} as const;

export type ScriptName = keyof typeof SCRIPTS;

const dir = new URL("../lua/", import.meta.url);

export function scriptSource(name: ScriptName): string {
  return readFileSync(new URL(`${SCRIPTS[name]}.lua`, dir), "utf8");
}

type Arg = string | number;
type Invoke = (...args: Arg[]) => Promise<unknown>;

/** Calls a defined script: fixed-key scripts take keys then ARGV; `-n` scripts take the key count first. */
export type AdmissionScripts = Record<ScriptName, Invoke>;

const COMMAND_PREFIX = "stampede_";

export function defineAdmissionScripts(redis: Redis): AdmissionScripts {
  const out = {} as AdmissionScripts;
  for (const [name, file] of Object.entries(SCRIPTS) as [ScriptName, string][]) {
    const keys = file.split("-").at(-1)!;
    const command = `${COMMAND_PREFIX}${name}`;
    const client = redis as unknown as Record<string, Invoke | undefined>;
    if (!client[command])
      redis.defineCommand(command, {
        lua: scriptSource(name),
        ...(keys === "n" ? {} : { numberOfKeys: Number(keys) }),
      });
    out[name] = (...args: Arg[]) => (client[command] as Invoke).apply(redis, args);
  }
  return out;
}
