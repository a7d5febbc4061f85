import type { Claim, FinalStatus } from "./types.ts";

/**
 * The message announcing that a claim reached a final state, to the shop:
 * the webhook body, and the value a Kafka `issued` topic carries. Versioned
 * like the queue messages (`ver`, domain/claim-message.ts): fields and event
 * names are only ever added within a version, so a receiver ignores an event
 * it does not know.
 *
 * - `claim.issued`: the claim is issued (a claim without holds once in the
 *   ledger; a hold once confirmed), with its coupon code and `issuedAt`.
 * - `claim.expired`, `claim.released`: a hold ended without being issued,
 *   with `endedAt`; no coupon code (it was never issued).
 *
 * One event per claim and final state, never one for `held`.
 */
export const ISSUED_EVENT_VERSION = 1;

export type ClaimEventName = "claim.issued" | "claim.expired" | "claim.released";

interface EventClaim {
  claimId: string;
  campaignId: string;
  userId: string;
  admittedAt: string;
  /** Holds only. */
  expiresAt?: string;
}

export interface IssuedEvent {
  ver: 1;
  /** Stable across retries and replays: the receiver's deduplication key. */
  deliveryId: string;
  event: "claim.issued";
  claim: EventClaim & { couponCode: string; issuedAt: string };
}

export interface EndedEvent {
  ver: 1;
  deliveryId: string;
  event: "claim.expired" | "claim.released";
  claim: EventClaim & { endedAt: string };
}

export type ClaimEvent = IssuedEvent | EndedEvent;

const EVENT_OF: Record<FinalStatus, ClaimEventName> = {
  issued: "claim.issued",
  expired: "claim.expired",
  released: "claim.released",
};

export const eventOf = (status: FinalStatus): ClaimEventName => EVENT_OF[status];

/**
 * A delivery id names one event of one claim. It is derived from both, so
 * every retry and every replay carries the same id and the receiver drops
 * what it has seen: `iss_<claimId>` for claim.issued (the id receivers
 * have always seen), `iss_<claimId>.expired` and `iss_<claimId>.released`
 * for the others (claim ids are base64url: never a dot).
 */
const DELIVERY_PREFIX = "iss_";
const SUFFIX_OF: Record<ClaimEventName, string> = {
  "claim.issued": "",
  "claim.expired": ".expired",
  "claim.released": ".released",
};

export const deliveryIdOf = (claimId: string, event: ClaimEventName = "claim.issued"): string =>
  `${DELIVERY_PREFIX}${claimId}${SUFFIX_OF[event]}`;

/** The claim and event a delivery id names; undefined for a string that is not one. */
export function parseDeliveryId(deliveryId: string): { claimId: string; event: ClaimEventName } | undefined {
  if (!deliveryId.startsWith(DELIVERY_PREFIX)) return undefined;
  const rest = deliveryId.slice(DELIVERY_PREFIX.length);
  const dot = rest.indexOf(".");
  if (dot === -1) return rest === "" ? undefined : { claimId: rest, event: "claim.issued" };
  const claimId = rest.slice(0, dot);
  const suffix = rest.slice(dot);
  const event = (Object.keys(SUFFIX_OF) as ClaimEventName[]).find(
    (e) => e !== "claim.issued" && SUFFIX_OF[e] === suffix,
  );
  return event && claimId !== "" ? { claimId, event } : undefined;
}

export const claimIdOfDelivery = (deliveryId: string): string | undefined =>
  parseDeliveryId(deliveryId)?.claimId;

const iso = (ms: number) => new Date(ms).toISOString();

/** The event of a claim in a final state (as the ledger holds it); throws for one that is not final. */
export function claimEvent(claim: Claim): ClaimEvent {
  const base: EventClaim = {
    claimId: claim.claimId,
    campaignId: claim.campaignId,
    userId: claim.userId,
    admittedAt: iso(claim.admittedAt),
  };
  if (claim.expiresAt !== undefined) base.expiresAt = iso(claim.expiresAt);
  switch (claim.status) {
    case "issued":
      return {
        ver: ISSUED_EVENT_VERSION,
        deliveryId: deliveryIdOf(claim.claimId),
        event: "claim.issued",
        claim: {
          ...base,
          couponCode: claim.couponCode,
          issuedAt: iso(claim.issuedAt ?? claim.admittedAt),
        },
      };
    case "expired":
    case "released": {
      const event = eventOf(claim.status);
      return {
        ver: ISSUED_EVENT_VERSION,
        deliveryId: deliveryIdOf(claim.claimId, event),
        event: event as EndedEvent["event"],
        claim: { ...base, endedAt: iso(claim.endedAt ?? claim.admittedAt) },
      };
    }
    default:
      throw new Error(`claim ${claim.claimId} is ${claim.status}: no event until it is final`);
  }
}

/**
 * Reads a ClaimEvent back (the issued topic's consumers, tests): refuses a
 * version or event it does not know and a body missing a field of v1,
 * rather than hand on half an event.
 */
export function parseClaimEvent(data: unknown): ClaimEvent {
  const event = data as Partial<ClaimEvent> | null;
  if (typeof event !== "object" || event === null) throw new Error("claim event: not an object");
  if (event.ver !== ISSUED_EVENT_VERSION)
    throw new Error(`claim event: unknown version ${String(event.ver)}`);
  const name = event.event;
  if (name !== "claim.issued" && name !== "claim.expired" && name !== "claim.released")
    throw new Error(`claim event: unknown event ${String(name)}`);
  if (typeof event.deliveryId !== "string") throw new Error("claim event: deliveryId missing");
  const claim = event.claim as Record<string, unknown> | undefined;
  const fields =
    name === "claim.issued"
      ? ["claimId", "campaignId", "userId", "couponCode", "admittedAt", "issuedAt"]
      : ["claimId", "campaignId", "userId", "admittedAt", "endedAt"];
  for (const field of fields)
    if (typeof claim?.[field] !== "string") throw new Error(`claim event: claim.${field} missing`);
  return event as ClaimEvent;
}
