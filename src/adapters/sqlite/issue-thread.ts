import { parentPort, workerData } from "node:worker_threads";
import type { Claim } from "../../domain/types.ts";
import { SqliteLedger } from "./sqlite-ledger.ts";

/**
 * The body of the embedded ledger's writer thread (see threaded-issuer.ts):
 * its own connection to the ledger file, running SqliteLedger.write() for
 * the main thread. The main thread migrated the file before starting it.
 */
export type IssueRequest =
  | { kind: "write"; id: number; snapshots: readonly Claim[]; now: number }
  | { kind: "close" };

export type IssueReply =
  | { id: number; result: Awaited<ReturnType<SqliteLedger["write"]>> }
  | { id: number; error: string };

const port = parentPort;
if (!port) throw new Error("issue-thread.ts runs as a worker thread (ThreadedIssuer starts it)");
const ledger = new SqliteLedger((workerData as { dataDir: string }).dataDir);

port.on("message", (request: IssueRequest) => {
  if (request.kind === "close") {
    void ledger.close().finally(() => port.close());
    return;
  }
  // write() is synchronous inside (node:sqlite): requests run one at a time, in order.
  ledger.write(request.snapshots, request.now).then(
    (result) => port.postMessage({ id: request.id, result } satisfies IssueReply),
    (error: unknown) =>
      port.postMessage({ id: request.id, error: String((error as Error)?.message ?? error) }),
  );
});
