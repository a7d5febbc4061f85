import type { Claim } from "./types.ts";

/**
 * The JSON form of a claim snapshot on a queue (the embedded journal; Kafka
 * values and Redis stream entries use it too). It carries a version, `ver`,
 * so that during a rolling upgrade old and new processes neither lose nor
 * misread a claim:
 *
 * - v0: the Claim as the first releases wrote it (no `ver`, with `status`).
 * - v1: `ver: 1`, the same fields without `status` (always pending on a
 *   queue). A v0 reader reads it correctly: it reads fields by name, and an
 *   absent status counts as pending.
 * - v1 with holds (additive): a snapshot of every decision on a claim
 *   (docs: holds-design, "One rule for everything on the queue"). `status`
 *   is written when it is not pending: `issued` (a confirmed hold, with
 *   `issuedAt`, the confirmation's time), `expired` or `released` (with
 *   `endedAt`); `expiresAt` on every snapshot of a hold. A pending snapshot
 *   is written exactly as before. An older reader reads a hold's later
 *   snapshots as pending, so holds need workers of this version: upgrade
 *   the workers before the first campaign with `holdSeconds` is created.
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
  /** Absent: pending. Never `held`: that is the ledger's word for a pending hold it holds. */
  status?: SnapshotStatus;
  expiresAt?: number;
  issuedAt?: number;
  endedAt?: number;
}

/** What a snapshot on a queue says about its claim. */
export type SnapshotStatus = "pending" | "issued" | "expired" | "released";
const SNAPSHOT_STATUSES: readonly string[] = ["pending", "issued", "expired", "released"] as const;

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
  // "held" is what the ledger says of a pending hold: as a snapshot it is pending.
  if (claim.status !== "pending" && claim.status !== "held") message.status = claim.status;
  if (claim.expiresAt !== undefined) message.expiresAt = claim.expiresAt;
  if (claim.status === "issued" && claim.issuedAt !== undefined) message.issuedAt = claim.issuedAt;
  if (claim.endedAt !== undefined) message.endedAt = claim.endedAt;
  return message;
}

/** Reads a v0 or v1 message as a Claim snapshot: pending unless it says otherwise. */
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
  const optionalTime = (name: string): number | undefined =>
    m[name] === undefined ? undefined : integer(name);
  const status = m.status ?? "pending";
  if (typeof status !== "string" || !SNAPSHOT_STATUSES.includes(status))
    throw new MalformedMessageError(`status ${JSON.stringify(status)}`);
  const key = m.idempotencyKey;
  const claim: Claim = {
    claimId: text("claimId"),
    campaignId: text("campaignId"),
    userId: text("userId"),
    seq: integer("seq"),
    unit: integer("unit"),
    couponCode: text("couponCode"),
    admittedAt: integer("admittedAt"),
    status: status as SnapshotStatus,
    idempotencyKey: typeof key === "string" ? key : undefined,
  };
  // Only what the message carries: a claim without holds reads as before.
  const expiresAt = optionalTime("expiresAt");
  const issuedAt = optionalTime("issuedAt");
  const endedAt = optionalTime("endedAt");
  if (expiresAt !== undefined) claim.expiresAt = expiresAt;
  if (issuedAt !== undefined) claim.issuedAt = issuedAt;
  if (endedAt !== undefined) claim.endedAt = endedAt;
  return claim;
}

/** The codec the embedded queue takes (queue/embedded/embedded-queue.ts). */
export const claimMessageCodec = { encode: encodeClaimMessage, decode: decodeClaimMessage };
