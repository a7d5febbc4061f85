import type { Config } from "../../config/config.ts";
import type { WebhookOptions } from "./dispatcher.ts";

/** The WEBHOOK_* settings, for whichever process runs the dispatcher (embedded start, distributed worker). */
export function webhookOptions(config: Config): WebhookOptions {
  return {
    maxAttempts: config.WEBHOOK_MAX_ATTEMPTS,
    retryBaseMs: config.WEBHOOK_RETRY_BASE_MS,
    retryMaxMs: config.WEBHOOK_RETRY_MAX_MS,
    timeoutMs: config.WEBHOOK_TIMEOUT_MS,
    concurrency: config.WEBHOOK_CONCURRENCY,
    allowPrivate: config.WEBHOOK_ALLOW_PRIVATE,
  };
}
