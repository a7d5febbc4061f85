/**
 * The flags of a scenario script: the common ones below plus its own,
 * declared and parsed as `stampede bench` declares and parses its flags
 * (bench/engine/flags.ts). `--help` prints the script's header comment (what
 * it measures, its targets, its usage) and every flag; a bad flag is one
 * line on stderr and exit status 2.
 */

import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { fileURLToPath } from "node:url";
import { type FlagTable, type FlagValues, flagHelp, int, parseFlags, UsageError } from "../engine/flags.ts";
import { MODES, type Mode } from "./modes.ts";

export interface ScenarioArgs {
  mode: Mode;
  pairs: number;
  profile: boolean;
  outDir: string;
  /** Overrides of the scenario's load (smaller runs while developing). */
  users?: number;
  concurrency?: string;
  deadlineMinutes: number;
  /** Every flag's value by name, the scenario's own included (with their defaults). */
  extra: FlagValues;
}

export interface ScenarioDefaults {
  deadlineMinutes: number;
  pairs?: number;
  mode?: Mode;
}

export function commonFlags(defaults: ScenarioDefaults): FlagTable {
  return {
    mode: {
      type: "string",
      doc: `${MODES.join(" | ")}: redis and kafka start \`stampede api\` + \`stampede worker\` (QUEUE, REDIS_URL, DATABASE_URL, KAFKA_BROKERS)`,
      default: defaults.mode ?? "embedded",
    },
    pairs: {
      type: "string",
      doc: "interleaved ceiling/system pairs (runs per setting where there is no ceiling)",
      default: String(defaults.pairs ?? 3),
    },
    users: { type: "string", doc: "override the scenario's users (a quick try: its figures do not count)" },
    concurrency: { type: "string", doc: "override the scenario's concurrency" },
    profile: { type: "boolean", doc: "run stampede under node --cpu-prof and print its hot spots" },
    "out-dir": { type: "string", doc: "raw reports, profiles and the summary", default: "bench/results" },
    "deadline-minutes": {
      type: "string",
      doc: "stop everything after this long",
      default: String(defaults.deadlineMinutes),
    },
    help: { type: "boolean", short: "h", doc: "this text" },
  };
}

/** The flags of `argv`, or "help"; throws UsageError for a bad one. */
export function parseScenarioFlags(
  argv: string[],
  defaults: ScenarioDefaults,
  own: FlagTable = {},
): ScenarioArgs | "help" {
  const v = parseFlags(argv, { ...commonFlags(defaults), ...own });
  if (v.help) return "help";
  const mode = v.mode as Mode;
  if (!MODES.includes(mode)) throw new UsageError(`--mode: expected ${MODES.join(" | ")}, got "${mode}"`);
  return {
    mode,
    pairs: int("pairs", v.pairs as string, 1),
    profile: v.profile === true,
    outDir: v["out-dir"] as string,
    ...(v.users !== undefined ? { users: int("users", v.users as string, 1) } : {}),
    ...(v.concurrency !== undefined ? { concurrency: v.concurrency as string } : {}),
    deadlineMinutes: int("deadline-minutes", v["deadline-minutes"] as string, 1),
    extra: v,
  };
}

/** The script's header comment (its leading `//` lines) and the table of its flags. */
export function scenarioHelp(scenarioUrl: string, defaults: ScenarioDefaults, own: FlagTable = {}): string {
  const header = readFileSync(fileURLToPath(scenarioUrl), "utf8")
    .split("\n")
    .filter((_, i, lines) => lines.slice(0, i + 1).every((l) => l.startsWith("//")))
    .map((l) => l.replace(/^\/\/ ?/, ""));
  const ownHelp = Object.keys(own).length ? ["", "Flags of this scenario:", ...flagHelp(own)] : [];
  return `${[...header, ...ownHelp, "", "Common flags:", ...flagHelp(commonFlags(defaults))].join("\n")}\n`;
}

/**
 * parseScenarioFlags for a scenario script (pass its import.meta.url):
 * prints the help and exits 0, or prints a bad flag's message and exits 2.
 */
export function parseScenarioArgs(
  scenarioUrl: string,
  defaults: ScenarioDefaults,
  own: FlagTable = {},
  argv = process.argv.slice(2),
): ScenarioArgs {
  try {
    const args = parseScenarioFlags(argv, defaults, own);
    if (args !== "help") return args;
    process.stdout.write(scenarioHelp(scenarioUrl, defaults, own));
    process.exit(0);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    const name = basename(fileURLToPath(scenarioUrl), ".ts");
    process.stderr.write(`${name}: ${error.message} (try bench/run.sh ${name} --help)\n`);
    process.exit(2);
  }
}

/** A scenario flag's value as a whole number of at least `min`. */
export function intFlag(args: ScenarioArgs, name: string, min = 0): number {
  return int(name, String(args.extra[name]), min);
}
