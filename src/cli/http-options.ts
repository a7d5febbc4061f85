import type { Config } from "../config/config.ts";
import type { AppOptions } from "../http/app.ts";

/** The HTTP-level settings every API process takes from its config (start, and api in distributed mode). */
export function httpOptions(
  config: Config,
): Pick<
  AppOptions,
  | "trustProxy"
  | "maxHeaderBytes"
  | "overload"
  | "corsOrigins"
  | "requestTimeoutMs"
  | "exportCsvNeutralise"
  | "eventStreams"
  | "metricsToken"
  | "metricsCampaignLabels"
> {
  return {
    metricsToken: config.METRICS_TOKEN,
    metricsCampaignLabels: config.METRICS_CAMPAIGN_LABELS,
    eventStreams: { maxPerClient: config.SSE_MAX_PER_CLIENT, maxTotal: config.SSE_MAX_TOTAL },
    exportCsvNeutralise: config.EXPORT_CSV_NEUTRALISE,
    corsOrigins: config.CORS_ORIGINS,
    requestTimeoutMs: config.REQUEST_TIMEOUT_MS,
    trustProxy: config.TRUST_PROXY,
    maxHeaderBytes: config.MAX_HEADER_BYTES,
    overload: {
      maxEventLoopDelayMs: config.OVERLOAD_MAX_EVENT_LOOP_DELAY_MS,
      maxHeapUsedBytes: config.OVERLOAD_MAX_HEAP_MB * 2 ** 20,
      maxRssBytes: config.OVERLOAD_MAX_RSS_MB * 2 ** 20,
    },
  };
}
