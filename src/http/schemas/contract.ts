/**
 * JSON schemas of the contract's bodies and parameters. Fastify validates
 * requests and serializes responses with them, and @fastify/swagger turns
 * them into the OpenAPI document at /docs/json. Names: `*Request` for a
 * request body, `*Params`, `*Query` and `*Headers` for the rest of a request,
 * `*Schema` for an answer's shape.
 */
import { ERROR_CODES } from "../../domain/errors.ts";

export const ID_PATTERN = "^[A-Za-z0-9_-]{1,64}$";
/** 1-128 characters, none of them a control character (C0, DEL or C1). */
export const USER_ID_PATTERN = "^[^\\u0000-\\u001f\\u007f-\\u009f]{1,128}$";
export const CLAIM_ID_PATTERN = "^[A-Za-z0-9_-]{16,64}$";
export const IDEMPOTENCY_KEY_PATTERN = "^[\\u0021-\\u007e]{1,128}$";

export const errorSchema = {
  $id: "Error",
  type: "object",
  required: ["error", "message"],
  properties: {
    error: { type: "string", enum: ERROR_CODES },
    message: { type: "string" },
    claimId: { type: "string" },
    status: { type: "string" },
  },
  additionalProperties: true,
} as const;

export const campaignSchema = {
  $id: "Campaign",
  type: "object",
  required: [
    "id",
    "name",
    "stock",
    "perUserLimit",
    "startsAt",
    "endsAt",
    "createdAt",
    "status",
    "issued",
    "pending",
    "remaining",
    "serverTime",
  ],
  properties: {
    id: { type: "string" },
    name: { type: "string" },
    stock: { type: "integer" },
    perUserLimit: { type: "integer" },
    startsAt: { type: ["string", "null"], format: "date-time" },
    endsAt: { type: ["string", "null"], format: "date-time" },
    createdAt: { type: "string", format: "date-time" },
    status: {
      type: "string",
      enum: ["open", "paused", "closed"],
      description: "lifecycle (docs/lifecycle.md): paused and closed refuse claims with that reason",
    },
    holdSeconds: { type: "integer", description: "campaigns with holds: how long a claim is held" },
    shards: { type: "integer", description: "campaigns over shards (more than 1): how many" },
    issued: { type: "integer", description: "claims durably in the ledger" },
    pending: { type: "integer", description: "claims admitted, not yet in the ledger" },
    held: { type: "integer", description: "campaigns with holds: holds in the ledger, not yet confirmed" },
    remaining: { type: "integer", description: "stock - issued - pending - held" },
    waitingRoom: {
      type: "object",
      description: "campaigns with a waiting room: its settings",
      required: ["prequeueSeconds"],
      properties: { prequeueSeconds: { type: "integer" }, releasePerSecond: { type: "integer" } },
    },
    drawCommitment: {
      type: "string",
      description: "waiting room: hex SHA-256 of the draw's 32-byte seed, shown from creation",
    },
    drawSeed: { type: "string", description: "waiting room: the draw's seed (hex), shown from startsAt" },
    serverTime: { type: "string", format: "date-time", description: "the server's clock" },
  },
} as const;

export const claimSchema = {
  $id: "Claim",
  type: "object",
  required: ["claimId", "campaignId", "userId", "status", "admittedAt"],
  properties: {
    claimId: { type: "string" },
    campaignId: { type: "string" },
    userId: { type: "string" },
    status: {
      type: "string",
      enum: ["pending", "held", "issued", "expired", "released"],
      description: "held, expired and released only in campaigns with holds",
    },
    admittedAt: { type: "string", format: "date-time" },
    couponCode: { type: "string", description: "shown once issued" },
    issuedAt: { type: "string", format: "date-time" },
    expiresAt: {
      type: "string",
      format: "date-time",
      description: "holds: when the unit goes back to the stock unless confirmed",
    },
    endedAt: { type: "string", format: "date-time", description: "expired or released holds: when" },
  },
} as const;

export const createCampaignRequest = {
  type: "object",
  required: ["name", "stock"],
  additionalProperties: false,
  properties: {
    id: { type: "string", pattern: ID_PATTERN },
    name: { type: "string", minLength: 1, maxLength: 200 },
    stock: { type: "integer", minimum: 1, maximum: 1_000_000_000 },
    perUserLimit: { type: "integer", minimum: 1, maximum: 1000 },
    startsAt: { type: "string", format: "date-time" },
    endsAt: { type: "string", format: "date-time" },
    holdSeconds: {
      type: "integer",
      minimum: 1,
      maximum: 3600,
      description: "claims are holds for this many seconds (at least HOLD_MIN_SECONDS, 30 by default)",
    },
    shards: {
      type: "integer",
      minimum: 1,
      maximum: 16,
      description:
        "distributed mode: split the stock over this many Redis slots (a hot campaign); no effect embedded; not with holdSeconds or waitingRoom",
    },
    waitingRoom: {
      type: "object",
      additionalProperties: false,
      required: ["prequeueSeconds"],
      description: 'claims go through a queue (docs/api.md "Waiting room"); needs startsAt',
      properties: {
        prequeueSeconds: { type: "integer", minimum: 1, maximum: 86_400 },
        releasePerSecond: { type: "integer", minimum: 1, maximum: 100_000 },
      },
    },
  },
} as const;

export const claimRequest = {
  type: "object",
  required: ["userId"],
  additionalProperties: false,
  properties: { userId: { type: "string", pattern: USER_ID_PATTERN } },
} as const;

export const campaignParams = {
  type: "object",
  required: ["id"],
  properties: { id: { type: "string", pattern: ID_PATTERN } },
} as const;

export const claimParams = {
  type: "object",
  required: ["claimId"],
  properties: { claimId: { type: "string", pattern: CLAIM_ID_PATTERN } },
} as const;

export const userClaimsParams = {
  type: "object",
  required: ["id", "userId"],
  properties: {
    id: { type: "string", pattern: ID_PATTERN },
    userId: { type: "string", pattern: USER_ID_PATTERN },
  },
} as const;

export const idempotencyHeaders = {
  type: "object",
  properties: { "idempotency-key": { type: "string", pattern: IDEMPOTENCY_KEY_PATTERN } },
} as const;
