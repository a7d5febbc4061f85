import assert from "node:assert/strict";
import { join } from "node:path";
import { pino } from "pino";
import { EmbeddedQueue } from "../../src/adapters/journal/embedded-queue.ts";
import { MemoryAdmission } from "../../src/adapters/memory/memory-admission.ts";
import { MemoryNotifier } from "../../src/adapters/memory/memory-notifier.ts";
import { SqliteLedger } from "../../src/adapters/sqlite/sqlite-ledger.ts";
import { claimMessageCodec } from "../../src/domain/claim-message.ts";
import { type ErrorCode, StampedeError } from "../../src/domain/errors.ts";
import type { Claim } from "../../src/domain/types.ts";
import { userHashKey } from "../../src/domain/user-hash.ts";
import type { Actor } from "../../src/ports/lifecycle-ledger.ts";
import type { RateLimiter } from "../../src/ports/rate-limiter.ts";
import { createServices, type Services } from "../../src/services/index.ts";
import { ClaimWorker } from "../../src/workers/claim-worker.ts";
import { ADMIN_TOKEN } from "./embedded-app.ts";
import { tempDir } from "./tmp.ts";

/**
 * The embedded adapters (in-memory admission, a journal queue in a temp dir,
 * the SQLite ledger, the in-process notifier) and the services built over
 * them, for tests that call the services directly, without HTTP. The claim
 * worker is built but not started: a test starts it when claims should be
 * issued. Everything is closed when the test ends.
 */
export interface EmbeddedPorts {
  admission: MemoryAdmission;
  ledger: SqliteLedger;
  notifier: MemoryNotifier;
  queue: EmbeddedQueue<Claim>;
  worker: ClaimWorker;
  services: Services;
}

export const actor: Actor = { actor: "tester", requestId: "req-1", clientIp: "127.0.0.1" };

export async function embeddedPorts(
  t: { after: (fn: () => Promise<void> | void) => void },
  options: {
    requestTimeoutMs?: number;
    rateLimiter?: RateLimiter;
    now?: () => number;
    /** WEBHOOK_ALLOW_PRIVATE (the tests' receivers, and made-up hosts, are not public). */
    webhookAllowPrivate?: boolean;
    /** HOLD_MIN_SECONDS (30 when absent). */
    holdMinSeconds?: number;
  } = {},
): Promise<EmbeddedPorts> {
  const dataDir = tempDir(t);
  const ledger = new SqliteLedger(dataDir);
  await ledger.migrate();
  const { queue } = await EmbeddedQueue.open<Claim>(
    join(dataDir, "journal"),
    "claims",
    { sync: async () => undefined },
    claimMessageCodec,
  );
  const admission = new MemoryAdmission(queue, { rateLimiter: options.rateLimiter });
  const notifier = new MemoryNotifier();
  const worker = new ClaimWorker({
    queue,
    ledger,
    admission,
    notifier,
    logger: pino({ level: "silent" }),
    batchSize: 100,
    flushIntervalMs: 1,
  });
  const services = createServices(
    {
      admission,
      ledger,
      notifier,
      lifecycle: ledger.lifecycle,
      deliveries: ledger.deliveries,
    },
    {
      userHashKey: userHashKey(ADMIN_TOKEN),
      requestTimeoutMs: options.requestTimeoutMs ?? 5000,
      now: options.now,
      webhookAllowPrivate: options.webhookAllowPrivate,
      holdMinSeconds: options.holdMinSeconds,
    },
  );
  t.after(async () => {
    await worker.stop();
    await notifier.close();
    await queue.close();
    await ledger.close();
  });
  return { admission, ledger, notifier, queue, worker, services };
}

/** Asserts that `promise` rejects with a StampedeError of this code; resolves with the error. */
export async function rejectsWith(promise: Promise<unknown>, code: ErrorCode): Promise<StampedeError> {
  let caught: unknown;
  await assert.rejects(promise, (error) => {
    caught = error;
    return true;
  });
  assert.ok(caught instanceof StampedeError, `a StampedeError, not ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  return caught;
}
