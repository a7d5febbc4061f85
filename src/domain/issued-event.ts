import { deliveryIdOf } from "../ports/delivery.ts";
import type { Claim } from "./types.ts";

/**
 * The message announcing an issued claim to the shop: the webhook body, and
 * the value a Kafka `issued` topic carries. Versioned like the queue messages
 * (`ver`, domain/claim-message.ts): fields are only ever added within a version.
 */
export const ISSUED_EVENT_VERSION = 1;

export interface IssuedEvent {
  ver: 1;
  /** Stable across retries and replays: the receiver's deduplication key. */
  deliveryId: string;
  event: "claim.issued";
  claim: {
    claimId: string;
    campaignId: string;
    userId: string;
    couponCode: string;
    admittedAt: string;
    issuedAt: string;
  };
}

export function issuedEvent(claim: Claim): IssuedEvent {
  return {
    ver: ISSUED_EVENT_VERSION,
    deliveryId: deliveryIdOf(claim.claimId),
    event: "claim.issued",
    claim: {
      claimId: claim.claimId,
      campaignId: claim.campaignId,
      userId: claim.userId,
      couponCode: claim.couponCode,
      admittedAt: new Date(claim.admittedAt).toISOString(),
      issuedAt: new Date(claim.issuedAt ?? claim.admittedAt).toISOString(),
    },
  };
}

/**
 * Reads an IssuedEvent back (the issued topic's consumers, tests): refuses a
 * version it does not know and a body missing a field of v1, rather than
 * hand on half an event.
 */
export function parseIssuedEvent(data: unknown): IssuedEvent {
  const event = data as Partial<IssuedEvent> | null;
  if (typeof event !== "object" || event === null) throw new Error("issued event: not an object");
  if (event.ver !== ISSUED_EVENT_VERSION)
    throw new Error(`issued event: unknown version ${String(event.ver)}`);
  if (event.event !== "claim.issued") throw new Error(`issued event: unknown event ${String(event.event)}`);
  if (typeof event.deliveryId !== "string") throw new Error("issued event: deliveryId missing");
  const claim = event.claim as Record<string, unknown> | undefined;
  for (const field of ["claimId", "campaignId", "userId", "couponCode", "admittedAt", "issuedAt"])
    if (typeof claim?.[field] !== "string") throw new Error(`issued event: claim.${field} missing`);
  return event as IssuedEvent;
}
