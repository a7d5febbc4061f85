import { randomBytes } from "node:crypto";

/**
 * Random identifiers. Bytes are drawn from a pooled buffer: one randomBytes
 * call per 4 KiB instead of one per claim keeps the admission path cheap.
 */
const POOL_SIZE = 4096;
let pool = randomBytes(POOL_SIZE);
let offset = 0;

function take(n: number): Buffer {
  if (offset + n > POOL_SIZE) {
    pool = randomBytes(POOL_SIZE);
    offset = 0;
  }
  const out = pool.subarray(offset, offset + n);
  offset += n;
  return out;
}

/** 128 random bits, base64url (22 chars): knowing a claim id is what lets a client read the claim. */
export function newClaimId(): string {
  return take(16).toString("base64url");
}

/** A campaign id when the admin gives none: 96 random bits, base64url (16 chars, fits the id pattern). */
export function newCampaignId(): string {
  return take(12).toString("base64url");
}

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/**
 * A coupon code: 80 random bits in Crockford base32 (no I, L, O, U), grouped
 * XXXX-XXXX-XXXX-XXXX so a person can read it out.
 */
export function newCouponCode(): string {
  const bytes = take(10);
  let bits = 0;
  let value = 0;
  let out = "";
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += CROCKFORD[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  return `${out.slice(0, 4)}-${out.slice(4, 8)}-${out.slice(8, 12)}-${out.slice(12, 16)}`;
}
