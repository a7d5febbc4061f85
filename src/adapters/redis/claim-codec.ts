import type { Claim } from "../../domain/types.ts";

/**
 * The packed form of a pending claim, as the admission script writes it to
 * the claims hash and the stream: fields joined by U+001F (unit separator),
 * which neither ids, user ids (no control characters) nor idempotency keys
 * (printable ASCII) can contain. The first field is the layout version, so a
 * newer process can still read what an older one wrote during a rolling
 * upgrade. About half the size of the same claim in JSON.
 *
 *   1 | claimId | campaignId | userId | seq | unit | couponCode | admittedAt | idempotencyKey ("" = none)
 */
export const CLAIM_LAYOUT_VERSION = "1";
export const SEPARATOR = "\u001f";

export function packClaim(claim: Claim): string {
  return [
    CLAIM_LAYOUT_VERSION,
    claim.claimId,
    claim.campaignId,
    claim.userId,
    claim.seq,
    claim.unit,
    claim.couponCode,
    claim.admittedAt,
    claim.idempotencyKey ?? "",
  ].join(SEPARATOR);
}

export class ClaimDecodeError extends Error {}

export function unpackClaim(packed: string): Claim {
  const f = packed.split(SEPARATOR);
  if (f[0] !== CLAIM_LAYOUT_VERSION || f.length !== 9)
    throw new ClaimDecodeError(`unknown claim layout (version ${JSON.stringify(f[0])}, ${f.length} fields)`);
  return {
    claimId: f[1]!,
    campaignId: f[2]!,
    userId: f[3]!,
    seq: Number(f[4]),
    unit: Number(f[5]),
    couponCode: f[6]!,
    admittedAt: Number(f[7]),
    status: "pending",
    idempotencyKey: f[8] === "" ? undefined : f[8],
  };
}
