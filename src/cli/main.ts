import cluster from "node:cluster";
import { ConfigError } from "../config/config.ts";
import { StartupError } from "../runtime/startup-error.ts";
import { reportStartFailure } from "./cluster/ipc.ts";
import { helpText } from "./help.ts";
import { version } from "./version.ts";

type Command = (argv: string[]) => Promise<number>;

const COMMANDS: Record<string, () => Promise<Command>> = {
  start: async () => (await import("./commands/start.ts")).start,
  migrate: async () => (await import("./commands/migrate.ts")).migrate,
  api: async () => (await import("./commands/api.ts")).api,
  worker: async () => (await import("./commands/worker.ts")).worker,
  doctor: async () => (await import("./commands/doctor.ts")).doctor,
  bench: async () => (await import("./commands/bench.ts")).bench,
  "verify-draw": async () => (await import("./commands/verify-draw.ts")).verifyDraw,
};

/** Commands whose flags are their own (not the settings table): they print their own --help. */
const OWN_HELP = new Set(["bench", "verify-draw"]);

/**
 * Entry point of `stampede <command>`. Every command returns its exit status;
 * a bad setting is one line on stderr naming it, never a stack trace.
 */
export async function main(argv: string[]): Promise<number> {
  const status = await run(argv);
  // A child of --processes N is done (its runtime closed): its IPC channel alone would keep it alive.
  if (cluster.isWorker) process.exit(status);
  return status;
}

async function run(argv: string[]): Promise<number> {
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
    if (error instanceof ConfigError) return fail(error.message, 2);
    if (error instanceof StartupError) return fail(error.message, 1);
    throw error;
  }
}

/** One line on stderr; a child of --processes N hands it to its primary, which prints it once. */
async function fail(message: string, status: number): Promise<number> {
  if (!(await reportStartFailure(message, status))) process.stderr.write(`stampede: ${message}\n`);
  return status;
}
