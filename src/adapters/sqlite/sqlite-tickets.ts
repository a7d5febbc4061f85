import type { TicketLedger, TicketRecord } from "../../ports/ticket-ledger.ts";
import type { Db } from "./sql/db.ts";
import { campaignTickets, claimedTickets, upsertTickets } from "./sql/tickets.ts";
import { inTransaction } from "./sql/transaction.ts";

/**
 * The embedded ledger's tickets (ports/ticket-ledger.ts), on the ledger's
 * connection. A batch is one transaction, whose COMMIT (synchronous=FULL)
 * makes it durable before the tickets journal lets it go.
 */
export class SqliteTickets implements TicketLedger {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  async write(records: readonly TicketRecord[]): Promise<void> {
    if (records.length > 0) inTransaction(this.#db, (db) => upsertTickets(db, records));
  }

  async *campaignTickets(campaignId: string): AsyncIterable<TicketRecord> {
    yield* campaignTickets(this.#db, campaignId);
  }

  async claimedTickets(campaignId: string): Promise<string[]> {
    return claimedTickets(this.#db, campaignId);
  }
}
