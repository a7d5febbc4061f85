/** JSON schemas of the waiting room's bodies and parameters (docs/api.md "Waiting room"). */
import { CLAIM_ID_PATTERN, ID_PATTERN } from "./contract.ts";

export const ticketSchema = {
  $id: "Ticket",
  type: "object",
  required: ["ticketId", "campaignId", "userId", "status", "position", "ahead", "remaining", "etaSeconds"],
  properties: {
    ticketId: { type: "string" },
    campaignId: { type: "string" },
    userId: { type: "string" },
    status: {
      type: "string",
      enum: ["waiting", "admitted", "sold_out"],
      description: "admitted: claimId names the claim; sold_out: no unit can become free any more",
    },
    position: {
      type: ["integer", "null"],
      description:
        "1-based among the waiting tickets; null before startsAt (pre-queue) and once not waiting; never grows",
    },
    ahead: { type: ["integer", "null"], description: "waiting tickets ahead: position - 1" },
    remaining: { type: "integer", description: "the campaign's units not held by an admitted claim" },
    etaSeconds: {
      type: ["integer", "null"],
      description: "seconds until admission at the release rate; null when unknown",
    },
    drawValue: {
      type: "string",
      description:
        "pre-queued tickets, from startsAt: hex HMAC-SHA256(seed, userId), the ticket's key in the draw",
    },
    claimId: {
      type: "string",
      description: "admitted: the claim the ticket became (or its user already held)",
    },
    joinedAt: { type: "string", format: "date-time" },
  },
} as const;

export const ticketParams = {
  type: "object",
  required: ["id", "ticketId"],
  properties: {
    id: { type: "string", pattern: ID_PATTERN },
    ticketId: { type: "string", pattern: CLAIM_ID_PATTERN },
  },
} as const;

/** The draw's shape, for the OpenAPI document (the route streams it). */
export const drawSchema = {
  type: "object",
  required: ["drawCommitment", "drawSeed", "prequeued", "order"],
  properties: {
    drawCommitment: { type: "string", description: "hex SHA-256 of the seed's 32 bytes" },
    drawSeed: { type: "string", description: "the seed, hex" },
    prequeued: { type: "integer", description: "tickets taken before startsAt" },
    order: {
      type: "array",
      items: { type: "string" },
      description: "the pre-queue's drawValues (hex HMAC-SHA256(seed, userId)) in draw order: ascending",
    },
  },
} as const;
