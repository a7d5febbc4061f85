/**
 * JSON schemas of the lifecycle, delivery and export routes (docs/lifecycle.md),
 * next to the contract's own in contract.ts.
 */
import { CLAIM_ID_PATTERN, USER_ID_PATTERN } from "./contract.ts";

/** X-Actor: who the caller says they are (1-128 characters, no control characters). */
const ACTOR_PATTERN = USER_ID_PATTERN;

export const actorHeaders = {
  type: "object",
  properties: {
    "x-actor": {
      type: "string",
      pattern: ACTOR_PATTERN,
      description: "who makes the change, recorded in the audit trail (default: admin)",
    },
  },
} as const;

export const patchCampaignRequest = {
  type: "object",
  additionalProperties: false,
  minProperties: 1,
  properties: {
    status: {
      type: "string",
      enum: ["open", "paused"],
      description: "paused: claims are answered 403 campaign_not_active (reason paused) until open again",
    },
    stock: {
      type: "integer",
      minimum: 1,
      maximum: 1_000_000_000,
      description: "never below the units already admitted (400 invalid_request, with `admitted`)",
    },
    endsAt: {
      type: ["string", "null"],
      format: "date-time",
      description: "extend or shorten the window; null removes the end",
    },
  },
} as const;

export const auditQuery = {
  type: "object",
  additionalProperties: false,
  properties: {
    after: { type: "string", pattern: "^[0-9]{1,15}$", description: "the last id of the previous page" },
    limit: { type: "string", pattern: "^[0-9]{1,4}$", description: "1-1000, default 100" },
  },
} as const;

export const auditPageSchema = {
  type: "object",
  required: ["entries", "next"],
  properties: {
    entries: {
      type: "array",
      items: {
        type: "object",
        required: ["id", "at", "actor", "action", "details"],
        properties: {
          id: { type: "integer" },
          at: { type: "string", format: "date-time" },
          actor: { type: "string", description: "X-Actor as declared by the caller, or admin" },
          requestId: { type: "string" },
          clientIp: { type: "string" },
          action: {
            type: "string",
            enum: ["update", "close", "webhook_set", "webhook_removed", "deliveries_replayed", "erase_user"],
          },
          details: { type: "object", additionalProperties: true },
        },
      },
    },
    next: { type: ["string", "null"], description: "`after` of the next page, null on the last" },
  },
} as const;

export const erasureSchema = {
  type: "object",
  required: ["erased"],
  properties: { erased: { type: "integer", description: "claims anonymised by this request" } },
} as const;

export const webhookRequest = {
  type: "object",
  required: ["url"],
  additionalProperties: false,
  properties: {
    url: {
      type: "string",
      minLength: 1,
      maxLength: 2048,
      description: "http(s) URL the deliveries are POSTed to",
    },
    secret: {
      type: "string",
      pattern: "^[\\u0021-\\u007e]{16,256}$",
      description:
        "HMAC-SHA256 key (16-256 printable ASCII characters); generated and shown once when absent",
    },
    backfill: {
      type: "boolean",
      description: "also deliver the claims issued before the webhook was set (default false)",
    },
  },
} as const;

export const webhookSchema = {
  type: "object",
  required: ["webhook", "deadDeliveries"],
  properties: {
    webhook: {
      type: ["object", "null"],
      required: ["url", "updatedAt"],
      properties: { url: { type: "string" }, updatedAt: { type: "string", format: "date-time" } },
    },
    secret: { type: "string", description: "only in the answer that generated it" },
    backfilled: { type: "integer", description: "deliveries added for earlier claims (backfill: true)" },
    deadDeliveries: { type: "integer" },
  },
} as const;

export const deadQuery = {
  type: "object",
  additionalProperties: false,
  properties: {
    after: {
      type: "string",
      pattern: CLAIM_ID_PATTERN,
      description: "the last claimId of the previous page",
    },
    limit: { type: "string", pattern: "^[0-9]{1,4}$", description: "1-1000, default 100" },
  },
} as const;

export const deadPageSchema = {
  type: "object",
  required: ["deliveries", "next"],
  properties: {
    deliveries: {
      type: "array",
      items: {
        type: "object",
        required: ["deliveryId", "claimId", "attempts", "createdAt"],
        properties: {
          deliveryId: { type: "string" },
          claimId: { type: "string" },
          attempts: { type: "integer" },
          lastError: { type: ["string", "null"] },
          createdAt: { type: "string", format: "date-time" },
        },
      },
    },
    next: { type: ["string", "null"], description: "`after` of the next page, null on the last" },
  },
} as const;

export const replayRequest = {
  type: "object",
  additionalProperties: false,
  properties: {
    deliveryIds: {
      type: "array",
      minItems: 1,
      maxItems: 1000,
      items: { type: "string", pattern: "^iss_[A-Za-z0-9_-]{16,64}$" },
      description: "the dead deliveries to send again; absent: every dead delivery of the campaign",
    },
  },
} as const;

export const exportQuery = {
  type: "object",
  additionalProperties: false,
  properties: {
    format: { type: "string", enum: ["ndjson", "csv"], description: "default ndjson" },
    spreadsheetSafe: {
      type: "string",
      enum: ["true", "false"],
      description:
        "csv only: prefix cells that a spreadsheet would run as a formula (=, +, -, @, TAB, CR) with '; " +
        "default true (EXPORT_CSV_NEUTRALISE)",
    },
  },
} as const;
