import type { Logger } from "pino";
import { ConfigError } from "../../config/config.ts";
import { describe, StartupError } from "../../runtime/startup-error.ts";

/**
 * A runtime being opened, whose failure is one line (src/cli/main.ts prints
 * it): a bad setting or a known start failure as it is, anything else as
 * "cannot start: <message>", its stack in the log at debug level.
 */
export async function opening<T>(logger: Logger, open: Promise<T>): Promise<T> {
  try {
    return await open;
  } catch (error) {
    if (error instanceof ConfigError || error instanceof StartupError) throw error;
    logger.debug({ err: error }, "start failed");
    throw new StartupError(`cannot start: ${describe(error)}`, { cause: error });
  }
}
