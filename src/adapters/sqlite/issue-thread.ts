import { parentPort, workerData } from "node:worker_threads";
import type { Claim } from "../../domain/types.ts";
import type { TicketRecord } from "../../ports/ticket-ledger.ts";
import { SqliteLedger } from "./sqlite-ledger.ts";

/**
 * The body of the embedded ledger's writer thread (see threaded-issuer.ts):
 * its own connection to the ledger file, running SqliteLedger.write() (and
 * the tickets' writes) for the main thread. The main thread migrated the
 * file before starting it.
 */
export type IssueRequest =
  | { kind: "write"; id: number; snapshots: readonly Claim[]; now: number }
  /** The waiting rooms' tickets (ports/ticket-ledger.ts). */
  | { kind: "tickets"; id: number; records: readonly TicketRecord[] }
  | { kind: "close" };

export type IssueReply =
  | { id: number; result: Awaited<ReturnType<SqliteLedger["write"]>> | undefined }
  | { id: number; error: string };

const port = parentPort;
if (!port) throw new Error("issue-thread.ts runs as a worker thread (ThreadedIssuer starts it)");
const ledger = new SqliteLedger((workerData as { dataDir: string }).dataDir);

port.on("message", (request: IssueRequest) => {
  if (request.kind === "close") {
    void ledger.close().finally(() => port.close());
    return;
  }
  // Both are synchronous inside (node:sqlite): requests run one at a time, in order.
  const done =
    request.kind === "write"
      ? ledger.write(request.snapshots, request.now)
      : ledger.tickets.write(request.records).then(() => undefined);
  done.then(
    (result) => port.postMessage({ id: request.id, result } satisfies IssueReply),
    (error: unknown) =>
      port.postMessage({ id: request.id, error: String((error as Error)?.message ?? error) }),
  );
});
