/**
 * What clients may see and hold: CSV exports, event streams, webhook
 * targets, user tokens, metrics. Part of the settings table (../config.ts).
 */
import { bool, int, optionalStr, type Setting, secret } from "../settings.ts";

export const EXPOSURE = {
  EXPORT_CSV_NEUTRALISE: {
    doc: "CSV exports prefix cells a spreadsheet would run as a formula (= + - @ TAB CR) with ' (false: values exact; ?spreadsheetSafe= overrides per request)",
    default: true,
    parse: bool,
  },
  SSE_MAX_PER_CLIENT: {
    doc: "event streams (SSE) one client address may hold open at once; beyond, 429 rate_limited with Retry-After",
    default: 20,
    parse: int(1, 1_000_000),
  },
  SSE_MAX_TOTAL: {
    doc: "event streams (SSE) one API process holds open at once; beyond, 503 unavailable with Retry-After",
    default: 10_000,
    parse: int(1, 10_000_000),
  },
  WEBHOOK_ALLOW_PRIVATE: {
    doc: "let webhooks reach loopback, private (RFC 1918, fc00::/7), link-local and metadata addresses; refused by default (SSRF)",
    default: false,
    parse: bool,
  },
  USER_TOKEN_AUDIENCE: {
    doc: "when set, user tokens must name this audience in `aud`",
    default: undefined,
    defaultText: "(not checked)",
    parse: optionalStr,
  },
  USER_TOKEN_ISSUER: {
    doc: "when set, user tokens must carry this issuer in `iss`",
    default: undefined,
    defaultText: "(not checked)",
    parse: optionalStr,
  },
  METRICS_TOKEN: {
    doc: "when set, GET /metrics needs Authorization: Bearer <METRICS_TOKEN> (api and worker)",
    default: undefined,
    defaultText: "(open)",
    parse: secret(16),
  },
  METRICS_CAMPAIGN_LABELS: {
    doc: "label queue lag by each campaign's stream (QUEUE=redis); off, it is summed per consumer group so /metrics stays bounded",
    default: false,
    parse: bool,
  },
} satisfies Record<string, Setting<unknown>>;
