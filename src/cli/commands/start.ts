import { loadConfig } from "../../config/config.ts";
import { userHashKey } from "../../domain/user-hash.ts";
import { buildApp } from "../../http/app.ts";
import { embeddedAdminToken } from "../../runtime/admin-token.ts";
import { openEmbedded } from "../../runtime/embedded.ts";
import { taskSettings } from "../../services/tasks/settings.ts";
import { webhookOptions } from "../../workers/webhook/options.ts";
import { httpOptions } from "../http-options.ts";
import { createLogger } from "../logger.ts";
import { serve } from "../serve.ts";

/** `stampede start`: the embedded default, API and worker in one process. */
export async function start(argv: string[]): Promise<number> {
  const config = loadConfig(process.env, argv);
  let adminToken = config.ADMIN_TOKEN;
  if (adminToken === undefined) {
    const stored = await embeddedAdminToken(config.DATA_DIR);
    adminToken = stored.token;
    if (stored.created)
      process.stdout.write(
        `stampede: generated an admin token (stored in ${config.DATA_DIR}/admin-token, shown once):\n  ${adminToken}\n`,
      );
  }
  // Created once the token is known: userIds in logs are hashed with a key derived from it.
  const logger = createLogger(config.LOG_LEVEL, "stampede", undefined, userHashKey(adminToken));
  const runtime = await openEmbedded({
    dataDir: config.DATA_DIR,
    adminToken,
    logger,
    batchSize: config.BATCH_SIZE,
    flushIntervalMs: config.FLUSH_INTERVAL_MS,
    requestTimeoutMs: config.REQUEST_TIMEOUT_MS,
    fsync: config.FSYNC,
    ledgerWriter: config.LEDGER_WRITER,
    tasks: { settings: taskSettings(config) },
    rateLimit: { user: config.RATE_LIMIT_USER, ip: config.RATE_LIMIT_IP },
    idempotencyTtlMs: config.IDEMPOTENCY_TTL_S * 1000,
    userTokenSecret: config.USER_TOKEN_SECRET,
    webhook: webhookOptions(config),
  });
  if (config.FSYNC === "off") logger.warn("FSYNC=off: a 202 does not survive a power loss; for tests only");
  const app = await buildApp(runtime.api, { logger, ...httpOptions(config) });
  return serve({
    app,
    config,
    logger,
    mode: "embedded",
    close: () => runtime.close(),
    onShutdown: () => runtime.beginShutdown(),
    drain: (untilMs) => runtime.drain(untilMs),
  });
}
