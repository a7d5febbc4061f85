import { createHmac, randomBytes } from "node:crypto";
import { BoundedCache } from "../../../domain/bounded-cache.ts";
import { campaignTag, TAG_LENGTH } from "../keys.ts";

/**
 * Ticket ids of distributed mode: the campaign's hash tag (so a ticket read
 * finds its slot, as a claim id does) + 22 characters: 128 bits of
 * HMAC-SHA256 under the room's ticket key, a random secret of 32 bytes kept
 * in the campaign's state hash (roomKey), over the userId. Unguessable like
 * a random id without the key, and a user's id is found again without a
 * map of users (one hash entry per ticket fewer: see room-join-5.lua).
 */
export const TICKET_ID_LENGTH = 22;

export class TicketIds {
  /** The ticket key of each campaign, as this process last learned it (room-join-5 says when it changed). */
  readonly #keys = new BoundedCache<string, string>({ maxSize: 10_000 });

  /** The key to derive ids with: the one learned, else a new random one the first join will set. */
  key(campaignId: string): string {
    let key = this.#keys.get(campaignId);
    if (key === undefined) {
      key = randomBytes(32).toString("hex");
      this.#keys.set(campaignId, key);
    }
    return key;
  }

  learn(campaignId: string, key: string): void {
    this.#keys.set(campaignId, key);
  }

  /** The id's part after the tag (what the line and the tickets hash hold). */
  static derive(key: string, userId: string): string {
    return createHmac("sha256", Buffer.from(key, "hex"))
      .update(userId, "utf8")
      .digest()
      .subarray(0, 16)
      .toString("base64url");
  }

  /** The full ticket id of a stored id. */
  static full(campaignId: string, id: string): string {
    return campaignTag(campaignId) + id;
  }

  /** The stored id of a ticket id of this campaign, or undefined when it is not one of its ids. */
  static local(campaignId: string, ticketId: string): string | undefined {
    if (ticketId.length !== TAG_LENGTH + TICKET_ID_LENGTH) return undefined;
    if (!ticketId.startsWith(campaignTag(campaignId))) return undefined;
    return ticketId.slice(TAG_LENGTH);
  }
}
