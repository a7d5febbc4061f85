import { parseArgs } from "node:util";
import { MODES, type Mode } from "./modes.ts";

/** Flags every scenario script takes. */
export interface ScenarioArgs {
  mode: Mode;
  pairs: number;
  profile: boolean;
  outDir: string;
  /** Overrides of the scenario's load (smaller runs while developing). */
  users?: number;
  concurrency?: string;
  deadlineMinutes: number;
  extra: Record<string, string | boolean | undefined>;
}

export const COMMON_HELP = `Common flags:
  --mode embedded|redis|kafka   system to measure [embedded]; redis/kafka start \`stampede api\` + \`stampede worker\`
                                with QUEUE=redis|kafka, REDIS_URL, DATABASE_URL, KAFKA_BROKERS, ADMIN_TOKEN
  --pairs N                     interleaved ceiling/system pairs [3]
  --users N, --concurrency N    override the scenario's load (for a quick try; figures then do not count)
  --profile                     run stampede under node --cpu-prof and print its hot spots
  --out-dir DIR                 raw reports, profiles and the summary [bench/results]
  --deadline-minutes N          stop everything after this long [scenario's own]`;

export function parseScenarioArgs(
  argv: string[],
  defaults: { deadlineMinutes: number; pairs?: number },
  extra: Record<string, { type: "string" | "boolean" }> = {},
): ScenarioArgs {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      mode: { type: "string", default: "embedded" },
      pairs: { type: "string", default: String(defaults.pairs ?? 3) },
      profile: { type: "boolean", default: false },
      "out-dir": { type: "string", default: "bench/results" },
      users: { type: "string" },
      concurrency: { type: "string" },
      "deadline-minutes": { type: "string", default: String(defaults.deadlineMinutes) },
      help: { type: "boolean", short: "h" },
      ...extra,
    },
  });
  if (values.help) {
    process.stdout.write(`${COMMON_HELP}\n`);
    process.exit(0);
  }
  const mode = values.mode as Mode;
  if (!MODES.includes(mode)) throw new Error(`--mode: expected ${MODES.join(" | ")}, got "${mode}"`);
  const v = values as Record<string, string | boolean | undefined>;
  return {
    mode,
    pairs: Math.max(1, Number(values.pairs)),
    profile: values.profile === true,
    outDir: values["out-dir"] as string,
    ...(values.users ? { users: Number(values.users) } : {}),
    ...(values.concurrency ? { concurrency: String(values.concurrency) } : {}),
    deadlineMinutes: Number(values["deadline-minutes"]),
    extra: v,
  };
}
