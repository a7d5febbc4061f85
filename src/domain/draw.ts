/**
 * The waiting room's draw (docs/api.md "The draw"), as the server computes it.
 * Anyone can check it with the client library's verifyDraw() and drawValue()
 * (src/client/draw.ts, Web Crypto), which must agree with these:
 *
 * - seed: 32 random bytes fixed at creation, stored with the campaign;
 * - commitment: hex SHA-256 of the seed's 32 bytes, shown from creation;
 * - drawValue: hex HMAC-SHA256(key = the seed's bytes, message = UTF-8 userId);
 * - the pre-queue stands in ascending drawValue order; later joiners behind
 *   it in arrival order.
 *
 * A line's order key (the design's one ordered set, which Redis keeps as a
 * sorted set of members compared bytewise) is `0` + the first 32 hex chars
 * of the drawValue for a pre-queued ticket, `1` + a 15-digit arrival number
 * for a later one: every key of the pre-queue sorts before every later one.
 */
import { createHash, createHmac, randomBytes } from "node:crypto";
import type { Campaign } from "./types.ts";

/** Hex chars of the drawValue in an order key: 128 bits keep the HMAC order but for a 2^-128 tie. */
const KEY_HEX = 32;
const ARRIVAL_DIGITS = 15;

/** A new campaign's secret seed: 32 random bytes, hex. */
export const newDrawSeed = (): string => randomBytes(32).toString("hex");

/** What the campaign shows from creation: hex SHA-256 of the seed's 32 bytes. */
export const drawCommitment = (seedHex: string): string =>
  createHash("sha256").update(Buffer.from(seedHex, "hex")).digest("hex");

/** A user's place-deciding value: hex HMAC-SHA256 of the UTF-8 userId under the seed's bytes. */
export const drawValue = (seedHex: string, userId: string): string =>
  createHmac("sha256", Buffer.from(seedHex, "hex")).update(userId, "utf8").digest("hex");

/** A pre-queued ticket's order key. */
export const prequeueKey = (value: string): string => `0${value.slice(0, KEY_HEX)}`;

/** A ticket's order key when it joined at or after startsAt, the `arrival`-th to do so (from 1). */
export const arrivalKey = (arrival: number): string => `1${String(arrival).padStart(ARRIVAL_DIGITS, "0")}`;

/** A seed as the ledgers store it (32 bytes). */
export const seedBytes = (seedHex: string): Buffer => Buffer.from(seedHex, "hex");

/** The seed is shown, and the draw public, from startsAt on (by the clock of the process that answers). */
export const seedRevealed = (campaign: Campaign, now: number): boolean =>
  campaign.startsAt !== null && now >= campaign.startsAt;

/** Joining opens prequeueSeconds before startsAt. */
export const prequeueOpensAt = (campaign: Campaign): number =>
  (campaign.startsAt ?? 0) - (campaign.waitingRoom?.prequeueSeconds ?? 0) * 1000;
