import { startConfig } from "../../config/commands.ts";
import { userHashKey } from "../../domain/user-hash.ts";
import { buildApp } from "../../http/app.ts";
import { prepareDataDir } from "../../runtime/data-dir.ts";
import { openEmbedded } from "../../runtime/embedded.ts";
import { httpOptions } from "../http-options.ts";
import { createLogger } from "../logger.ts";
import { serve } from "../serve.ts";
import { reportStart } from "../start-report.ts";
import { opening } from "./opening.ts";

/** `stampede start`: the embedded default, API and worker in one process. */
export async function start(argv: string[]): Promise<number> {
  const { config, createdToken } = await prepareDataDir(startConfig(process.env, argv));
  if (createdToken)
    process.stdout.write(
      `stampede: generated an admin token (stored in ${config.DATA_DIR}/admin-token, shown once):\n  ${config.ADMIN_TOKEN}\n`,
    );
  // userIds in logs are hashed with a key derived from the admin token.
  const logger = createLogger(config.LOG_LEVEL, "stampede", undefined, userHashKey(config.ADMIN_TOKEN));
  const runtime = await opening(logger, openEmbedded(config, logger));
  reportStart(runtime.startReport, logger);
  const app = await buildApp(runtime.api, { logger, ...httpOptions(config) });
  return serve({ app, config, logger, mode: "embedded", runtime });
}
