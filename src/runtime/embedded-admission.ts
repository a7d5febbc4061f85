/**
 * The embedded admission's start and background loops (./embedded.ts): its
 * rebuild from the ledger and the journals' survivors, the hold reaper and
 * the waiting rooms' releaser.
 */
import type { Logger } from "pino";
import type { EmbeddedQueue } from "../adapters/journal/embedded-queue.ts";
import type { MemoryAdmission } from "../adapters/memory/memory-admission.ts";
import type { MemoryWaitingRoom } from "../adapters/memory/memory-waiting-room.ts";
import type { SqliteLedger } from "../adapters/sqlite/sqlite-ledger.ts";
import type { Claim } from "../domain/types.ts";
import type { TicketRecord } from "../ports/ticket-ledger.ts";
import { LineReleaser } from "../workers/line-releaser.ts";
import { PeriodicTask } from "../workers/periodic-task.ts";

/**
 * Rebuilds admission state from the ledger's active claims (issued, and
 * holds still held, with their expiresAt) and the journal's surviving
 * snapshots, which are already queued again (MemoryAdmission.restore()).
 */
export async function restoreAdmission(admission: MemoryAdmission, ledger: SqliteLedger, recovered: Claim[]) {
  const campaigns = await ledger.listCampaigns();
  for (const campaign of campaigns) await admission.putCampaign(campaign);
  const active: Claim[] = [];
  for (const campaign of campaigns)
    for await (const claim of ledger.campaignClaims(campaign.id)) active.push(claim);
  admission.restore(recovered, active);
}

/**
 * The embedded reaper: every HOLD_REAP_INTERVAL_MS, expires the due holds of
 * every campaign with holds, from their stored expiresAt (so holds that
 * expired while the process was down go at its first pass).
 */
export function holdReaper(admission: MemoryAdmission, intervalMs: number, logger: Logger): PeriodicTask {
  const reapAll = async () => {
    const campaigns = await admission.listCampaigns();
    for (const campaign of campaigns) if (campaign.holdSeconds) await admission.reapExpired(campaign.id);
  };
  return new PeriodicTask({
    intervalMs,
    run: reapAll,
    logger,
    failureMessage: "expiring holds failed",
    unref: true,
  });
}

/**
 * Rebuilds the waiting rooms' lines (MemoryWaitingRoom.restore()) from the
 * ledger's tickets and the tickets journal's survivors (already queued again
 * for the ticket writer), once admission is restored: a ticket whose claim
 * (its own id) admission or the ledger holds is admitted, and its record
 * written again.
 */
export async function restoreWaitingRooms(
  room: MemoryWaitingRoom,
  admission: MemoryAdmission,
  ledger: SqliteLedger,
  tickets: EmbeddedQueue<TicketRecord>,
  recovered: TicketRecord[],
): Promise<void> {
  const records: TicketRecord[] = [];
  const inLedger = new Set<string>();
  const claimed: string[] = [];
  for (const campaign of await admission.listCampaigns()) {
    if (!campaign.waitingRoom) continue;
    for await (const record of ledger.tickets.campaignTickets(campaign.id)) {
      records.push(record);
      inLedger.add(record.ticketId);
    }
    claimed.push(...(await ledger.tickets.claimedTickets(campaign.id)));
  }
  // Tickets only the journal holds: their claims may be in the ledger alone (rare: a few at most).
  for (const record of recovered)
    if (
      record.claimId === undefined &&
      !inLedger.has(record.ticketId) &&
      (await ledger.findClaim(record.ticketId))
    )
      claimed.push(record.ticketId);
  records.push(...recovered);
  const fixed = await room.restore(records, claimed);
  if (fixed.length > 0) await tickets.publish(fixed);
}

/** The embedded releaser: every RELEASE_INTERVAL_MS, each started waiting room releases what its rate allows (the store's budget). */
export function lineReleaser(
  room: MemoryWaitingRoom,
  admission: MemoryAdmission,
  intervalMs: number,
  logger: Logger,
) {
  const releaser = new LineReleaser({ store: room, campaigns: () => admission.listCampaigns() });
  return new PeriodicTask({
    intervalMs,
    run: () => releaser.run(),
    logger,
    failureMessage: "releasing waiting-room tickets failed",
    unref: true,
  });
}
