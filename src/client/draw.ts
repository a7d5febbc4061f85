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

/** 32 bytes, as the server writes them: 64 lowercase hex chars. */
const HEX_32 = /^[0-9a-f]{64}$/;

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
 * What is wrong with a draw, in words (none: it checks out): the revealed
 * seed is 32 bytes and matches the commitment made at creation; the
 * published order lists as many values as the pre-queue held, each a
 * 32-byte hex HMAC, strictly ascending (two users never share a value: a
 * repeated one was put there).
 */
export async function drawProblems(draw: Draw): Promise<string[]> {
  const problems: string[] = [];
  if (!HEX_32.test(draw.drawSeed)) problems.push("drawSeed is not 32 bytes of lowercase hex");
  else {
    const digest = hex(await crypto.subtle.digest("SHA-256", fromHex(draw.drawSeed)));
    if (digest !== draw.drawCommitment.toLowerCase())
      problems.push(`sha256(drawSeed) = ${digest}, not the commitment ${draw.drawCommitment}`);
  }
  if (draw.order.length !== draw.prequeued)
    problems.push(`order lists ${draw.order.length} values for a pre-queue of ${draw.prequeued}`);
  for (const [i, value] of draw.order.entries()) {
    if (!HEX_32.test(value)) {
      problems.push(`order[${i}] is not a 32-byte hex value`);
      break;
    }
    if (i > 0 && draw.order[i - 1]! >= value) {
      problems.push(`order is not strictly ascending at ${i}: ${draw.order[i - 1]} then ${value}`);
      break;
    }
  }
  return problems;
}

/**
 * True when the revealed seed matches the commitment made at creation and the
 * published order is strictly ascending and as long as the pre-queue
 * (drawProblems() says what is wrong otherwise).
 */
export async function verifyDraw(draw: Draw): Promise<boolean> {
  return (await drawProblems(draw)).length === 0;
}

/** The 0-based index of `value` in an ascending order (binary search), or -1. */
export function drawIndex(order: readonly string[], value: string): number {
  let lo = 0;
  let hi = order.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const at = order[mid]!;
    if (at === value) return mid;
    if (at < value) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}
