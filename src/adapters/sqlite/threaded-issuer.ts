import { Worker } from "node:worker_threads";
import type { Claim } from "../../domain/types.ts";
import type { Ledger, WriteResult } from "../../ports/ledger.ts";
import type { TicketLedger } from "../../ports/ticket-ledger.ts";
import type { IssueReply, IssueRequest } from "./issue-thread.ts";

/**
 * The embedded worker's ledger writes, on a thread of their own.
 *
 * node:sqlite is synchronous: on the event loop that admits claims, every
 * batch's inserts and its COMMIT's fsync (synchronous=FULL) stop admission
 * for their whole duration (23% of that loop's time in the spike-admit
 * profile, BENCHMARKS.md). Here a worker thread with its own connection to
 * the same WAL file does them; the loop only copies the batch across.
 * Writes from both connections (the main one changes campaigns, webhooks,
 * audit rows) are serialised by SQLite's write lock, waited on with
 * busy_timeout (SqliteLedger).
 *
 * Durability is unchanged: write() resolves after the thread's COMMIT
 * returned, and only then does the queue acknowledge the batch. The waiting
 * rooms' tickets (`tickets.write`) go the same way, for the same reason. If the thread
 * dies, pending calls reject (the queue redelivers) and the next call starts
 * a new thread.
 */
export class ThreadedIssuer implements Pick<Ledger, "write"> {
  /** The waiting rooms' tickets, written on the same thread (a TicketLedger's write). */
  readonly tickets: Pick<TicketLedger, "write"> = {
    write: async (records) => {
      if (records.length > 0) await this.#call((id) => ({ kind: "tickets", id, records }));
    },
  };
  readonly #dataDir: string;
  #worker: Worker | undefined;
  readonly #pending = new Map<
    number,
    { resolve: (r: WriteResult | undefined) => void; reject: (e: Error) => void }
  >();
  #nextId = 1;
  #closed = false;

  constructor(dataDir: string) {
    this.#dataDir = dataDir;
  }

  async write(snapshots: readonly Claim[], now: number): Promise<WriteResult> {
    return (await this.#call((id) => ({ kind: "write", id, snapshots, now })))!;
  }

  #call(request: (id: number) => Exclude<IssueRequest, { kind: "close" }>): Promise<WriteResult | undefined> {
    if (this.#closed) return Promise.reject(new Error("the ledger writer thread is closed"));
    const worker = this.#start();
    const id = this.#nextId++;
    return new Promise<WriteResult | undefined>((resolve, reject) => {
      // The thread keeps the process alive only while it has work in hand.
      if (this.#pending.size === 0) worker.ref();
      this.#pending.set(id, { resolve, reject });
      worker.postMessage(request(id) satisfies IssueRequest);
    });
  }

  /** Lets the thread finish what it was given, closes its connection and waits for it to exit. */
  async close(): Promise<void> {
    this.#closed = true;
    const worker = this.#worker;
    if (!worker) return;
    worker.ref();
    const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
    worker.postMessage({ kind: "close" } satisfies IssueRequest);
    await exited;
  }

  #start(): Worker {
    if (this.#worker) return this.#worker;
    // The thread's own module: issue-thread.ts beside the sources, issue-thread.js in a build.
    const extension = import.meta.url.endsWith(".ts") ? "ts" : "js";
    const worker = new Worker(new URL(`./issue-thread.${extension}`, import.meta.url), {
      workerData: { dataDir: this.#dataDir },
    });
    worker.on("message", (reply: IssueReply) => {
      const call = this.#pending.get(reply.id);
      if (!call) return;
      this.#pending.delete(reply.id);
      if (this.#pending.size === 0) worker.unref();
      if ("error" in reply) call.reject(new Error(reply.error));
      else call.resolve(reply.result);
    });
    const fail = (error: Error) => {
      if (this.#worker === worker) this.#worker = undefined;
      for (const call of this.#pending.values()) call.reject(error);
      this.#pending.clear();
    };
    worker.on("error", fail);
    worker.on("exit", (code) => fail(new Error(`the ledger writer thread exited (code ${code})`)));
    worker.unref();
    this.#worker = worker;
    return worker;
  }
}
