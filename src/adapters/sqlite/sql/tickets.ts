/** The embedded waiting rooms' tickets (ports/ticket-ledger.ts, migrations/0004_waiting_room.sql). */
import type { TicketRecord } from "../../../ports/ticket-ledger.ts";
import { type Db, statement } from "./db.ts";

interface TicketRow {
  ticket_id: string;
  campaign_id: string;
  user_id: string;
  joined_at: number;
  arrival: number | null;
  claim_id: string | null;
}

/** A join inserts the ticket; a later record of it only adds its claim. Inside the caller's transaction. */
export function upsertTickets(db: Db, records: readonly TicketRecord[]): void {
  const upsert = statement(
    db,
    `INSERT INTO tickets (ticket_id, campaign_id, user_id, joined_at, arrival, claim_id)
     VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (ticket_id) DO UPDATE SET claim_id = coalesce(tickets.claim_id, excluded.claim_id)`,
  );
  for (const r of records)
    upsert.run(r.ticketId, r.campaignId, r.userId, r.joinedAt, r.arrival, r.claimId ?? null);
}

export function* campaignTickets(db: Db, campaignId: string): Generator<TicketRecord> {
  const rows = statement(db, "SELECT * FROM tickets WHERE campaign_id = ?").iterate(campaignId);
  for (const row of rows as Iterable<TicketRow>) {
    const record: TicketRecord = {
      ticketId: row.ticket_id,
      campaignId: row.campaign_id,
      userId: row.user_id,
      joinedAt: row.joined_at,
      arrival: row.arrival,
    };
    if (row.claim_id !== null) record.claimId = row.claim_id;
    yield record;
  }
}

export function claimedTickets(db: Db, campaignId: string): string[] {
  const rows = statement(
    db,
    `SELECT t.ticket_id FROM tickets t JOIN claims c ON c.claim_id = t.ticket_id
     WHERE t.campaign_id = ? AND t.claim_id IS NULL`,
  ).all(campaignId) as { ticket_id: string }[];
  return rows.map((r) => r.ticket_id);
}
