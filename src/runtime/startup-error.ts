import { ConfigError } from "../config/config.ts";

/**
 * A failure at start that a person can act on: printed as one line naming
 * the setting or the cause, no stack trace, exit status 1 (src/cli/main.ts).
 */
export class StartupError extends Error {}

/**
 * `error` as a start failure blamed on `setting`: a ConfigError or
 * StartupError goes on as it is; anything else becomes one line saying what
 * could not be done, e.g. "DATA_DIR: cannot open ./data/ledger.sqlite:
 * permission denied (EACCES)".
 */
export function startupError(setting: string, doing: string, error: unknown): Error {
  if (error instanceof ConfigError || error instanceof StartupError) return error;
  return new StartupError(`${setting}: cannot ${doing}: ${describe(error)}`, { cause: error });
}

/** An error's message on one line; a system error's code stays, its syscall noise goes. */
export function describe(error: unknown): string {
  const { message = String(error), code } = error as { message?: string; code?: unknown };
  const firstLine = message.split("\n")[0]!;
  return typeof code === "string" && !firstLine.includes(code) ? `${firstLine} (${code})` : firstLine;
}
