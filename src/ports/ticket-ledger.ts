/**
 * Where the embedded mode keeps its waiting rooms' tickets for good (the
 * SQLite ledger's tickets table): written from the tickets journal
 * (DATA_DIR/tickets) by a consumer of its own, as claims are from theirs,
 * and read back at start to rebuild the lines. The distributed mode keeps
 * its lines in Redis and has no such ledger.
 */

/** What is durable of a ticket: its join, and once admitted, its claim. */
export interface TicketRecord {
  ticketId: string;
  campaignId: string;
  userId: string;
  joinedAt: number;
  /** Null: pre-queued (joined before startsAt, placed by its drawValue); else the n-th to join from startsAt. */
  arrival: number | null;
  /** Set once admitted: the claim it became (its own id) or the one its user already held. */
  claimId?: string | undefined;
}

export interface TicketLedger {
  /** Inserts tickets, or records their claim; idempotent (a replayed journal writes the same again). */
  write(records: readonly TicketRecord[]): Promise<void>;
  /** Every ticket of the campaign, in no particular order. */
  campaignTickets(campaignId: string): AsyncIterable<TicketRecord>;
  /**
   * Tickets of the campaign not marked admitted whose claim (a claim with
   * the ticket's own id) the ledger holds: released just before a crash
   * that lost the ticket's own record.
   */
  claimedTickets(campaignId: string): Promise<string[]>;
}
