import type { Claim } from "./types.ts";

/**
 * The JSON form of an admitted claim on a queue (the embedded journal; Kafka
 * values use it too). It carries a version, `ver`, so that during a rolling
 * upgrade old and new processes neither lose nor misread a claim:
 *
 * - v0: the Claim as the first releases wrote it (no `ver`, with `status`).
 * - v1: `ver: 1`, the same fields without `status` (always pending on a
 *   queue). A v0 reader reads it correctly: it reads fields by name, and an
 *   absent status counts as pending.
 *
 * Rule for later versions: an additive change keeps the version (old readers
 * ignore fields they do not know); a breaking one takes the next version and
 * ships in two steps, readers first, then writers (CLAIM_MESSAGE_VERSION).
 * A reader refuses a version newer than it knows instead of guessing, and the
 * message stays unacknowledged for a newer process (docs/lifecycle.md).
 */
export const CLAIM_MESSAGE_VERSION = 1;

export interface ClaimMessageV1 {
  ver: 1;
  claimId: string;
  campaignId: string;
  userId: string;
  seq: number;
  unit: number;
  couponCode: string;
  admittedAt: number;
  idempotencyKey?: string;
}

export class UnsupportedMessageVersionError extends Error {
  readonly version: unknown;
  constructor(version: unknown) {
    super(
      `claim message version ${JSON.stringify(version)} is newer than this stampede understands ` +
        `(up to ${CLAIM_MESSAGE_VERSION}); run the newer version to process it`,
    );
    this.name = "UnsupportedMessageVersionError";
    this.version = version;
  }
}

export class MalformedMessageError extends Error {
  constructor(reason: string) {
    super(`malformed claim message: ${reason}`);
    this.name = "MalformedMessageError";
  }
}

export function encodeClaimMessage(claim: Claim): ClaimMessageV1 {
  const message: ClaimMessageV1 = {
    ver: 1,
    claimId: claim.claimId,
    campaignId: claim.campaignId,
    userId: claim.userId,
    seq: claim.seq,
    unit: claim.unit,
    couponCode: claim.couponCode,
    admittedAt: claim.admittedAt,
  };
  if (claim.idempotencyKey !== undefined) message.idempotencyKey = claim.idempotencyKey;
  return message;
}

/** Reads a v0 or v1 message as a pending Claim. */
export function decodeClaimMessage(raw: unknown): Claim {
  if (typeof raw !== "object" || raw === null) throw new MalformedMessageError("not an object");
  const m = raw as Record<string, unknown>;
  const version = m.ver ?? 0;
  if (version !== 0 && version !== 1) {
    if (typeof version === "number" && Number.isInteger(version) && version > CLAIM_MESSAGE_VERSION)
      throw new UnsupportedMessageVersionError(version);
    throw new MalformedMessageError(`version ${JSON.stringify(version)}`);
  }
  const text = (name: string): string => {
    const v = m[name];
    if (typeof v !== "string" || v === "") throw new MalformedMessageError(`${name} missing`);
    return v;
  };
  const integer = (name: string): number => {
    const v = m[name];
    if (typeof v !== "number" || !Number.isSafeInteger(v)) throw new MalformedMessageError(`${name} missing`);
    return v;
  };
  const key = m.idempotencyKey;
  return {
    claimId: text("claimId"),
    campaignId: text("campaignId"),
    userId: text("userId"),
    seq: integer("seq"),
    unit: integer("unit"),
    couponCode: text("couponCode"),
    admittedAt: integer("admittedAt"),
    status: "pending",
    idempotencyKey: typeof key === "string" ? key : undefined,
  };
}

/** The codec the embedded queue takes (queue/embedded/embedded-queue.ts). */
export const claimMessageCodec = { encode: encodeClaimMessage, decode: decodeClaimMessage };
