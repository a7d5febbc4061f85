import { ConfigError } from "../config/config.ts";
import { helpText } from "./help.ts";
import { StartupError } from "./startup-error.ts";
import { version } from "./version.ts";

/**
 * Entry point of `stampede <command>`. Every command returns its exit status;
 * a bad setting is one line on stderr naming it, never a stack trace.
 */
type Command = (argv: string[]) => Promise<number>;

const COMMANDS: Record<string, () => Promise<Command>> = {
  start: async () => (await import("./commands/start.ts")).start,
  migrate: async () => (await import("./commands/migrate.ts")).migrate,
  api: async () => (await import("./commands/api.ts")).api,
  worker: async () => (await import("./commands/worker.ts")).worker,
  doctor: async () => (await import("./commands/doctor.ts")).doctor,
  bench: async () => (await import("./commands/bench.ts")).bench,
};

/** Commands whose flags are their own (not the settings table): they print their own --help. */
const OWN_HELP = new Set(["bench"]);

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(helpText());
    return name === undefined ? 1 : 0;
  }
  if (name === "--version" || name === "-v" || name === "version") {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  if ((rest.includes("--help") || rest.includes("-h")) && !OWN_HELP.has(name)) {
    process.stdout.write(helpText(name));
    return 0;
  }
  const load = COMMANDS[name];
  if (!load) {
    process.stderr.write(`stampede: unknown command "${name}" (try stampede --help)\n`);
    return 2;
  }
  try {
    return await (await load())(rest);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`stampede: ${error.message}\n`);
      return 2;
    }
    if (error instanceof StartupError) {
      process.stderr.write(`stampede: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}
