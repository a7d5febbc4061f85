import { parentPort, workerData } from "node:worker_threads";
import type { Claim } from "../../domain/types.ts";
import { SqliteLedger } from "./sqlite-ledger.ts";

/**
 * The body of the embedded ledger's writer thread (see threaded-issuer.ts):
 * its own connection to the ledger file, running SqliteLedger.issue() for
 * the main thread. The main thread migrated the file before starting it.
 */
export type IssueRequest =
  | { kind: "issue"; id: number; claims: readonly Claim[]; issuedAt: number }
  | { kind: "close" };

export type IssueReply =
  | { id: number; result: Awaited<ReturnType<SqliteLedger["issue"]>> }
  | { id: number; error: string };

const port = parentPort;
if (!port) throw new Error("issue-thread.ts runs as a worker thread (ThreadedIssuer starts it)");
const ledger = new SqliteLedger((workerData as { dataDir: string }).dataDir);

port.on("message", (request: IssueRequest) => {
  if (request.kind === "close") {
    void ledger.close().finally(() => port.close());
    return;
  }
  // issue() is synchronous inside (node:sqlite): requests run one at a time, in order.
  ledger.issue(request.claims, request.issuedAt).then(
    (result) => port.postMessage({ id: request.id, result } satisfies IssueReply),
    (error: unknown) =>
      port.postMessage({ id: request.id, error: String((error as Error)?.message ?? error) }),
  );
});
