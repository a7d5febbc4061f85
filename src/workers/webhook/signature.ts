import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * The webhook signature, Stripe-style:
 *
 *   Stampede-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
 *
 * Signing the timestamp with the body lets a receiver refuse an old request
 * replayed by someone who captured it (verifySignature's tolerance). The
 * receiver must verify the raw bytes it received, before parsing the JSON.
 */
export const SIGNATURE_HEADER = "stampede-signature";

const hmac = (secret: string, timestamp: number, body: string | Buffer) =>
  createHmac("sha256", secret).update(`${timestamp}.`).update(body).digest("hex");

export function signPayload(secret: string, body: string | Buffer, timestampSec: number): string {
  return `t=${timestampSec},v1=${hmac(secret, timestampSec, body)}`;
}

export interface VerifyOptions {
  /** Oldest acceptable signature, in seconds before `nowSec` (default 300). */
  toleranceSec?: number;
  nowSec?: number;
}

/** The receiver's side (also used by the tests): true when `header` signs `body` with `secret`. */
export function verifySignature(
  secret: string,
  header: string | undefined,
  body: string | Buffer,
  options: VerifyOptions = {},
): boolean {
  if (header === undefined) return false;
  const parts = new Map<string, string[]>();
  for (const item of header.split(",")) {
    const at = item.indexOf("=");
    if (at <= 0) continue;
    const key = item.slice(0, at).trim();
    parts.set(key, [...(parts.get(key) ?? []), item.slice(at + 1).trim()]);
  }
  const t = Number(parts.get("t")?.[0]);
  if (!Number.isSafeInteger(t)) return false;
  const now = options.nowSec ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - t) > (options.toleranceSec ?? 300)) return false;
  const expected = Buffer.from(hmac(secret, t, body), "hex");
  // Several v1 values are allowed (a sender may sign with an old and a new secret while rotating).
  return (parts.get("v1") ?? []).some((v) => {
    const given = Buffer.from(v, "hex");
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
