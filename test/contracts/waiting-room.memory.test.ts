import { EmbeddedQueue } from "../../src/adapters/journal/embedded-queue.ts";
import { MemoryAdmission } from "../../src/adapters/memory/memory-admission.ts";
import { MemoryRateLimiter } from "../../src/adapters/memory/memory-rate-limiter.ts";
import { MemoryWaitingRoom } from "../../src/adapters/memory/memory-waiting-room.ts";
import { claimMessageCodec } from "../../src/domain/claim-message.ts";
import type { Claim } from "../../src/domain/types.ts";
import type { TicketRecord } from "../../src/ports/ticket-ledger.ts";
import { tempDir } from "../helpers/tmp.ts";
import { waitingRoomContract } from "./waiting-room.ts";

/**
 * The embedded mode's waiting room: MemoryWaitingRoom beside MemoryAdmission, claims and joins each
 * fsync'ed to a journal in a temporary folder, on the process's clock (the same contract as Redis's).
 */
waitingRoomContract(
  "memory",
  async (t, options = {}) => {
    const dir = tempDir(t, "stampede-room-");
    const { queue: claims } = await EmbeddedQueue.open<Claim>(dir, "claims", {}, claimMessageCodec);
    const { queue: tickets } = await EmbeddedQueue.open<TicketRecord>(dir, "tickets", {});
    const rateLimiter = options.rateLimit ? new MemoryRateLimiter(options.rateLimit) : undefined;
    const admission = new MemoryAdmission(claims, { rateLimiter });
    const room = new MemoryWaitingRoom(admission, tickets, { rateLimiter });
    t.after(async () => {
      rateLimiter?.close();
      await admission.close();
      await tickets.close();
      await claims.close();
    });
    return { room, admission, create: (campaign) => admission.putCampaign(campaign) };
  },
  false,
);
