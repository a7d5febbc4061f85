import { createLogger } from "../../../src/cli/logger.ts";
import { serve } from "../../../src/cli/serve.ts";
import { loadConfig } from "../../../src/config/config.ts";
import { buildCeilingApp } from "./ceiling-app.ts";

/**
 * `stampede bench --serve-ceiling`: the constant-410 server in the
 * foreground, listening exactly as `stampede start` does (serve(): PORT,
 * HOST, LISTEN_BACKLOG, graceful stop on SIGTERM).
 */
export async function serveCeiling(): Promise<number> {
  const config = loadConfig(process.env, []);
  const logger = createLogger(config.LOG_LEVEL, "stampede-ceiling");
  const runtime = { close: async () => undefined, beginShutdown: () => undefined };
  return serve({ app: buildCeilingApp(), config, logger, mode: "ceiling", runtime });
}
