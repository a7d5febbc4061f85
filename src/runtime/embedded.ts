import { join } from "node:path";
import type { Logger } from "pino";
import { EmbeddedQueue } from "../adapters/journal/embedded-queue.ts";
import type { JournalOptions } from "../adapters/journal/journal.ts";
import { userTokenVerifier } from "../adapters/jwt/user-tokens.ts";
import { AnswerLog } from "../adapters/memory/answer-log.ts";
import { MemoryAdmission } from "../adapters/memory/memory-admission.ts";
import { MemoryNotifier } from "../adapters/memory/memory-notifier.ts";
import { MemoryRateLimiter } from "../adapters/memory/memory-rate-limiter.ts";
import { SqliteLedger } from "../adapters/sqlite/sqlite-ledger.ts";
import { ThreadedIssuer } from "../adapters/sqlite/threaded-issuer.ts";
import { claimMessageCodec } from "../domain/claim-message.ts";
import type { RateLimitOptions } from "../domain/rate-policy.ts";
import type { Claim } from "../domain/types.ts";
import { userHashKey } from "../domain/user-hash.ts";
import type { ApiParts } from "../http/app.ts";
import { countFailures, instrumentPorts } from "../ops/metrics/instrument.ts";
import { Metrics } from "../ops/metrics/metrics.ts";
import { ledgerCountsSource } from "../ops/stats/ledger-counts.ts";
import type { DependencyStatus } from "../ports/readiness.ts";
import { createServices } from "../services/index.ts";
import { ClaimWorker } from "../workers/claim-worker.ts";
import {
  DEFAULT_WEBHOOK_OPTIONS,
  WebhookDispatcher,
  type WebhookOptions,
} from "../workers/webhook/dispatcher.ts";
import { drainQueue } from "./drain.ts";
import { type EmbeddedTaskOptions, type EmbeddedTasks, openEmbeddedTasks } from "./embedded-tasks.ts";

/**
 * The embedded mode in one object: ledger, journal-backed queue, in-process
 * admission and notifier, and the worker, wired and recovered from DATA_DIR.
 */
export interface EmbeddedOptions {
  dataDir: string;
  adminToken: string;
  logger: Logger;
  batchSize: number;
  flushIntervalMs: number;
  /** REQUEST_TIMEOUT_MS: bounds how long a service waits (erasure, for a claim still being issued). */
  requestTimeoutMs?: number;
  /** LEDGER_WRITER: "thread" (default) issues on a thread of its own (adapters/sqlite/threaded-issuer.ts). */
  ledgerWriter?: "thread" | "loop";
  /** "off" skips fsync (tests and benchmarks that measure something else). */
  fsync?: "always" | "off";
  journal?: JournalOptions;
  /** The task pipeline's settings (src/runtime/embedded-tasks.ts); defaults when absent. */
  tasks?: EmbeddedTaskOptions;
  /** RATE_LIMIT_USER / RATE_LIMIT_IP; no limiting when absent. */
  rateLimit?: RateLimitOptions;
  /** IDEMPOTENCY_TTL_S in ms: how long answers to an Idempotency-Key are kept, across restarts (default 24 h). */
  idempotencyTtlMs?: number;
  /** USER_TOKEN_SECRET: claims and reads of claims then need the user's token. */
  userTokenSecret?: string;
  /** Webhook delivery settings (WEBHOOK_* settings); defaults in workers/webhook/dispatcher.ts. */
  webhook?: Partial<WebhookOptions>;
  /** The process's metrics registry (one is made when absent). */
  metrics?: Metrics;
}

export interface EmbeddedRuntime {
  /** What the HTTP API serves (buildApp). */
  api: ApiParts;
  admission: MemoryAdmission;
  notifier: MemoryNotifier;
  /** Present when RATE_LIMIT_USER or RATE_LIMIT_IP is set. */
  rateLimiter: MemoryRateLimiter | undefined;
  queue: EmbeddedQueue<Claim>;
  worker: ClaimWorker;
  tasks: EmbeddedTasks;
  ledger: SqliteLedger;
  dispatcher: WebhookDispatcher;
  /** Claims found admitted-but-not-issued at start and queued again. */
  recoveredPending: number;
  /** Graceful shutdown has begun: readiness answers 503 from now on. */
  beginShutdown(): void;
  /**
   * Lets the worker issue what is queued, until the queue is empty or
   * `untilMs` (epoch ms); resolves with what is left, which stays in the
   * journal and is issued after the next start.
   */
  drain(untilMs: number): Promise<number>;
  /** Stops the worker (after its batch in hand) and closes the files. */
  close(): Promise<void>;
}

export async function openEmbedded(options: EmbeddedOptions): Promise<EmbeddedRuntime> {
  const { dataDir, logger } = options;
  const ledger = new SqliteLedger(dataDir);
  await ledger.migrate();

  const journalOptions: JournalOptions = { ...options.journal };
  if (options.fsync === "off") journalOptions.sync ??= async () => undefined;
  const { queue, recovered } = await EmbeddedQueue.open<Claim>(
    join(dataDir, "journal"),
    "claims",
    journalOptions,
    claimMessageCodec,
  );

  // Admission is in this process, so the limiter's budget lives here too.
  const { rateLimit } = options;
  const rateLimiter = rateLimit?.user || rateLimit?.ip ? new MemoryRateLimiter(rateLimit) : undefined;
  // Keyed 409/403/410 answers, durable so that a repeat after a restart gets the same one (answer-log.ts).
  const idempotencyTtlMs = options.idempotencyTtlMs ?? 24 * 3600_000;
  const { log: answers, answers: keptAnswers } = await AnswerLog.open(join(dataDir, "idempotency"), {
    ttlMs: idempotencyTtlMs,
    journal: journalOptions,
  });
  const admission = new MemoryAdmission(queue, { rateLimiter, idempotencyTtlMs, answers });
  const campaigns = await ledger.listCampaigns();
  for (const campaign of campaigns) await admission.putCampaign(campaign);
  // Rebuild: the ledger's claims are issued; the journal's that the ledger
  // lacks are admitted and pending (they are already queued again).
  for (const campaign of campaigns) {
    const issued: Claim[] = [];
    for await (const claim of ledger.campaignClaims(campaign.id)) issued.push(claim);
    admission.restore(issued);
  }
  admission.restore(recovered);
  admission.restoreAnswers(keptAnswers);
  const recoveredPending = recovered.length;
  if (recoveredPending > 0)
    logger.info({ claims: recoveredPending }, "journal replayed; re-issuing admitted claims");

  const notifier = new MemoryNotifier();
  const dispatcher = new WebhookDispatcher({
    ...DEFAULT_WEBHOOK_OPTIONS,
    ...options.webhook,
    store: ledger.deliveries,
    logger,
  });
  const metrics = options.metrics ?? new Metrics();
  // The worker's inserts and fsyncs off the loop that admits (threaded-issuer.ts).
  const issuer = options.ledgerWriter === "loop" ? undefined : new ThreadedIssuer(dataDir);
  const worker = new ClaimWorker({
    queue,
    ledger: countFailures(issuer ?? ledger, "ledger", metrics),
    admission,
    notifier,
    logger,
    batchSize: options.batchSize,
    flushIntervalMs: options.flushIntervalMs,
    issuedSink: dispatcher,
    onBatch: metrics.observeBatch,
  });

  const tasks = await openEmbeddedTasks({ dataDir, logger, journal: journalOptions, ...options.tasks });
  // Started once everything opened: a start that fails leaves nothing running.
  dispatcher.start();
  worker.start();

  let shuttingDown = false;
  const readiness = async (): Promise<DependencyStatus[]> => [
    await check("journal", () => queue.ping()),
    await check("ledger", () => ledger.ping()),
    await check("tasks", () => tasks.ping()),
  ];

  const services = createServices(
    instrumentPorts(
      {
        admission,
        ledger,
        notifier,
        lifecycle: ledger.lifecycle,
        deliveries: ledger.deliveries,
        tasks: tasks.service,
      },
      metrics,
    ),
    { userHashKey: userHashKey(options.adminToken), requestTimeoutMs: options.requestTimeoutMs ?? 5000 },
  );
  const api: ApiParts = {
    services,
    access: {
      adminToken: options.adminToken,
      userTokens:
        options.userTokenSecret === undefined ? undefined : userTokenVerifier(options.userTokenSecret),
    },
    ops: {
      readiness,
      isShuttingDown: () => shuttingDown,
      metrics,
      mode: "embedded",
      // Claims and tasks travel on queues of their own; both show.
      queueLag: async () => [...(await queue.lag()), ...(await tasks.queue.lag())],
      stats: [
        ledgerCountsSource(ledger),
        {
          name: "journal",
          collect: async () => ({
            fsyncs: queue.journal.fsyncCount,
            failure: queue.journal.failure?.message,
          }),
        },
      ],
    },
  };

  return {
    api,
    admission,
    notifier,
    rateLimiter,
    queue,
    worker,
    tasks,
    ledger,
    dispatcher,
    recoveredPending,
    beginShutdown() {
      shuttingDown = true;
    },
    drain: (untilMs) => drainQueue(queue, untilMs),
    async close() {
      shuttingDown = true;
      await tasks.close();
      rateLimiter?.close();
      await worker.stop();
      await issuer?.close();
      await dispatcher.stop();
      await notifier.close();
      await queue.close();
      await answers.close();
      await ledger.close();
    },
  };
}

async function check(name: string, probe: () => Promise<void>): Promise<DependencyStatus> {
  try {
    await probe();
    return { name, ok: true };
  } catch (error) {
    return { name, ok: false, error: (error as Error).message };
  }
}
