import type { Draw } from "./types.ts";

/**
 * Checks of a waiting room's draw anyone can run (docs/api.md, "Waiting
 * room"): the campaign committed to SHA-256(seed) at creation and reveals the
 * seed at startsAt; the pre-queue is ordered by ascending
 * HMAC-SHA256(key = seed, message = userId). Web Crypto, so browsers and Node alike.
 */

const hex = (bytes: ArrayBuffer): string =>
  Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");

function fromHex(text: string): Uint8Array<ArrayBuffer> {
  if (!/^(?:[0-9a-f]{2})*$/i.test(text)) throw new TypeError("not a hex string");
  const bytes = new Uint8Array(text.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Number.parseInt(text.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}

/** A user's place-deciding value in the draw: hex HMAC-SHA256 of the UTF-8 userId under the seed's bytes. */
export async function drawValue(drawSeed: string, userId: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    fromHex(drawSeed),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return hex(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(userId)));
}

/**
 * True when the revealed seed matches the commitment made at creation and the
 * published order is ascending and as long as the pre-queue.
 */
export async function verifyDraw(draw: Draw): Promise<boolean> {
  const digest = hex(await crypto.subtle.digest("SHA-256", fromHex(draw.drawSeed)));
  if (digest !== draw.drawCommitment.toLowerCase()) return false;
  if (draw.order.length !== draw.prequeued) return false;
  return draw.order.every((value, i) => i === 0 || (draw.order[i - 1] ?? "") <= value);
}
