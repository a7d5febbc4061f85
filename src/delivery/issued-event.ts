import type { Claim } from "../domain/types.ts";
import { deliveryIdOf } from "./types.ts";

/**
 * The message announcing an issued claim to the shop: the webhook body, and
 * the value a Kafka `issued` topic carries. Versioned like the queue messages
 * (`ver`, queue/claim-message.ts): fields are only ever added within a version.
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
