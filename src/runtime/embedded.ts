/**
 * The embedded mode in one object, from the configuration: ledger,
 * journal-backed queue, in-process admission and notifier, and the worker,
 * wired and recovered from DATA_DIR. One process: its admission state is in
 * this process's memory.
 */

import { join } from "node:path";
import type { Logger } from "pino";
import { EmbeddedQueue } from "../adapters/journal/embedded-queue.ts";
import type { JournalOptions } from "../adapters/journal/journal.ts";
import { userTokensOf } from "../adapters/jwt/user-tokens.ts";
import { AnswerLog } from "../adapters/memory/answer-log.ts";
import { MemoryAdmission } from "../adapters/memory/memory-admission.ts";
import { MemoryNotifier } from "../adapters/memory/memory-notifier.ts";
import { MemoryRateLimiter } from "../adapters/memory/memory-rate-limiter.ts";
import { MemoryWaitingRoom, RELEASE_BURST_MS } from "../adapters/memory/memory-waiting-room.ts";
import { SqliteLedger } from "../adapters/sqlite/sqlite-ledger.ts";
import { ThreadedIssuer } from "../adapters/sqlite/threaded-issuer.ts";
import { type Config, ConfigError } from "../config/config.ts";
import { claimMessageCodec } from "../domain/claim-message.ts";
import type { Claim } from "../domain/types.ts";
import { userHashKey } from "../domain/user-hash.ts";
import type { ApiParts } from "../http/app.ts";
import { countFailures, instrumentPorts } from "../ops/metrics/instrument.ts";
import { Metrics } from "../ops/metrics/metrics.ts";
import { ledgerCountsSource } from "../ops/stats/ledger-counts.ts";
import type { TicketRecord } from "../ports/ticket-ledger.ts";
import { createServices } from "../services/index.ts";
import { taskSettings } from "../services/tasks/settings.ts";
import { ClaimWorker } from "../workers/claim-worker.ts";
import { WebhookDispatcher, type WebhookOptions } from "../workers/webhook/dispatcher.ts";
import { webhookOptions } from "../workers/webhook/options.ts";
import { drainQueue } from "./drain.ts";
import { holdReaper, lineReleaser, restoreAdmission, restoreWaitingRooms } from "./embedded-admission.ts";
import { type EmbeddedTaskOptions, type EmbeddedTasks, openEmbeddedTasks } from "./embedded-tasks.ts";
import { readinessOf } from "./readiness.ts";
import { openWith, type Resources } from "./resources.ts";
import type { Runtime } from "./runtime.ts";
import { checkDataDirAtStart } from "./start-checks.ts";
import { startupError } from "./startup-error.ts";

/** What tests and benchmarks may hand openEmbedded besides the configuration. */
export interface EmbeddedOverrides {
  /** The journals' options (tests inject a failing or slow fsync). */
  journal?: JournalOptions;
  /** The task pipeline's parts (a test registry, shorter sweeps); settings default to the TASK_* ones. */
  tasks?: EmbeddedTaskOptions;
  /** Webhook options beyond the WEBHOOK_* settings (a shorter poll). */
  webhook?: Partial<WebhookOptions>;
  /** The process's metrics registry (one is made when absent). */
  metrics?: Metrics;
  /** How often watched waiting lines are looked at (1 s by contract; tests shorten it). */
  lineWatchIntervalMs?: number;
}

export interface EmbeddedRuntime extends Runtime {
  admission: MemoryAdmission;
  notifier: MemoryNotifier;
  /** Present when RATE_LIMIT_USER or RATE_LIMIT_IP is set. */
  rateLimiter: MemoryRateLimiter | undefined;
  queue: EmbeddedQueue<Claim>;
  /** The waiting rooms' lines (docs/api.md "Waiting room"). */
  waitingRoom: MemoryWaitingRoom;
  /** The tickets journal: joins and admitted tickets, fsync'ed before they are answered. */
  tickets: EmbeddedQueue<TicketRecord>;
  worker: ClaimWorker;
  tasks: EmbeddedTasks;
  ledger: SqliteLedger;
  dispatcher: WebhookDispatcher;
  /** Claims found admitted-but-not-issued at start and queued again. */
  recoveredPending: number;
  /**
   * Lets the worker issue what is queued, until the queue is empty or
   * `untilMs` (epoch ms); resolves with what is left, which stays in the
   * journal and is issued after the next start.
   */
  drain(untilMs: number): Promise<number>;
}

/**
 * Opens the embedded mode. `config.ADMIN_TOKEN` must be set: `stampede
 * start` generates one first (./data-dir.ts). DATA_DIR's checks run first
 * (start-checks.ts); what they say comes back in `startReport`.
 */
export async function openEmbedded(
  config: Config,
  logger: Logger,
  overrides: EmbeddedOverrides = {},
): Promise<EmbeddedRuntime> {
  const adminToken = config.ADMIN_TOKEN;
  if (adminToken === undefined)
    throw new ConfigError("ADMIN_TOKEN", "required (stampede start generates one under DATA_DIR)");
  return openWith(logger, (resources) => wire(config, adminToken, logger, overrides, resources));
}

async function wire(
  config: Config,
  adminToken: string,
  logger: Logger,
  overrides: EmbeddedOverrides,
  resources: Resources,
): Promise<EmbeddedRuntime> {
  const dataDir = config.DATA_DIR;
  const startReport = await checkDataDirAtStart(config);
  const inDataDir = <T>(what: string, open: () => Promise<T>): Promise<T> =>
    open().catch((error: unknown) => Promise.reject(startupError("DATA_DIR", `open ${what}`, error)));

  const ledger = await inDataDir(`the ledger in ${dataDir}`, async () => {
    const opened = resources.add("ledger", new SqliteLedger(dataDir), (l) => l.close());
    await opened.migrate();
    return opened;
  });
  const journal: JournalOptions = { ...overrides.journal };
  if (config.FSYNC === "off") journal.sync ??= async () => undefined;
  const { queue, recovered } = await inDataDir(`the journal in ${join(dataDir, "journal")}`, () =>
    EmbeddedQueue.open<Claim>(join(dataDir, "journal"), "claims", journal, claimMessageCodec),
  );
  resources.add("claims journal", queue, (q) => q.close());

  // Admission is in this process, so the limiter's budget lives here too.
  const rateLimiter =
    config.RATE_LIMIT_USER || config.RATE_LIMIT_IP
      ? resources.add(
          "rate limiter",
          new MemoryRateLimiter({ user: config.RATE_LIMIT_USER, ip: config.RATE_LIMIT_IP }),
          (r) => r.close(),
        )
      : undefined;
  // Keyed 409/403/410 answers, durable so that a repeat after a restart gets the same one (answer-log.ts).
  const idempotencyTtlMs = config.IDEMPOTENCY_TTL_S * 1000;
  const { log: answers, answers: keptAnswers } = await inDataDir(
    `the idempotency log in ${join(dataDir, "idempotency")}`,
    () => AnswerLog.open(join(dataDir, "idempotency"), { ttlMs: idempotencyTtlMs, journal }),
  );
  resources.add("idempotency log", answers, (a) => a.close());
  const admission = new MemoryAdmission(queue, { rateLimiter, idempotencyTtlMs, answers });
  await restoreAdmission(admission, ledger, recovered);
  admission.restoreAnswers(keptAnswers);
  if (recovered.length > 0)
    logger.info({ claims: recovered.length }, "journal replayed; re-issuing admitted claims");

  // Waiting rooms: the lines back from the ledger's tickets and their journal's survivors.
  const { queue: tickets, recovered: recoveredTickets } = await inDataDir(
    `the tickets journal in ${join(dataDir, "tickets")}`,
    () => EmbeddedQueue.open<TicketRecord>(join(dataDir, "tickets"), "tickets", journal),
  );
  resources.add("tickets journal", tickets, (q) => q.close());
  const waitingRoom = new MemoryWaitingRoom(admission, tickets, {
    rateLimiter,
    // releasePerSecond's burst: up to two releaser runs' worth, so a late timer is made up for.
    burstMs: Math.max(RELEASE_BURST_MS, 2 * config.RELEASE_INTERVAL_MS),
  });
  await restoreWaitingRooms(waitingRoom, admission, ledger, tickets, recoveredTickets);

  const notifier = resources.add("notifier", new MemoryNotifier(), (n) => n.close());
  const metrics = overrides.metrics ?? new Metrics();
  // The worker's inserts and fsyncs off the loop that admits (threaded-issuer.ts).
  const issuer =
    config.LEDGER_WRITER === "loop"
      ? undefined
      : resources.add("ledger writer thread", new ThreadedIssuer(dataDir), (i) => i.close());
  const dispatcher = resources.add(
    "webhook dispatcher",
    new WebhookDispatcher({
      ...webhookOptions(config),
      ...overrides.webhook,
      store: ledger.deliveries,
      logger,
    }),
    (d) => d.stop(),
  );
  const worker = resources.add(
    "claim worker",
    new ClaimWorker({
      queue,
      ledger: countFailures(issuer ?? ledger, "ledger", metrics),
      admission,
      notifier,
      logger,
      batchSize: config.BATCH_SIZE,
      flushIntervalMs: config.FLUSH_INTERVAL_MS,
      issuedSink: dispatcher,
      onBatch: metrics.observeBatch,
    }),
    (w) => w.stop(),
  );
  const tasks = await inDataDir(`the task store in ${dataDir}`, () =>
    openEmbeddedTasks(
      { dataDir, logger, journal, settings: taskSettings(config), ...overrides.tasks },
      resources,
    ),
  );
  let shuttingDown = false;
  resources.defer("readiness", () => {
    shuttingDown = true;
  });
  // Started once everything opened: a start that fails leaves nothing running.
  dispatcher.start();
  worker.start();
  const reaper = resources.add(
    "hold reaper",
    holdReaper(admission, config.HOLD_REAP_INTERVAL_MS, logger),
    (r) => r.stop(),
  );
  reaper.start();
  resources.add(
    "ticket writer",
    // On the ledger writer's thread too, unless LEDGER_WRITER=loop: a COMMIT's fsync must not stop the joins.
    tickets.consume((batch) => (issuer ?? ledger).tickets.write(batch), {
      batchSize: config.BATCH_SIZE,
      flushIntervalMs: config.FLUSH_INTERVAL_MS,
    }),
    (w) => w.stop(),
  );
  const releaser = resources.add(
    "waiting-room releaser",
    lineReleaser(waitingRoom, admission, config.RELEASE_INTERVAL_MS, logger),
    (r) => r.stop(),
  );
  releaser.start();

  const services = createServices(
    instrumentPorts(
      {
        admission,
        ledger,
        notifier,
        lifecycle: ledger.lifecycle,
        deliveries: ledger.deliveries,
        tasks: tasks.service,
        waitingRoom,
      },
      metrics,
    ),
    {
      userHashKey: userHashKey(adminToken),
      requestTimeoutMs: config.REQUEST_TIMEOUT_MS,
      webhookAllowPrivate: overrides.webhook?.allowPrivate ?? config.WEBHOOK_ALLOW_PRIVATE,
      holdMinSeconds: config.HOLD_MIN_SECONDS,
      lineWatchIntervalMs: overrides.lineWatchIntervalMs,
    },
  );
  const api: ApiParts = {
    services,
    access: {
      adminToken,
      userTokens: userTokensOf(config),
    },
    ops: {
      readiness: readinessOf(
        [
          { name: "journal", probe: () => queue.ping() },
          { name: "tickets journal", probe: () => tickets.ping() },
          { name: "ledger", probe: () => ledger.ping() },
          { name: "tasks", probe: () => tasks.ping() },
        ],
        config.READINESS_TIMEOUT_MS,
      ),
      isShuttingDown: () => shuttingDown,
      metrics,
      mode: "embedded",
      // Claims and tasks travel on queues of their own; both show.
      queueLag: async () => [...(await queue.lag()), ...(await tasks.queue.lag()), ...(await tickets.lag())],
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
    startReport,
    admission,
    notifier,
    rateLimiter,
    queue,
    waitingRoom,
    tickets,
    worker,
    tasks,
    ledger,
    dispatcher,
    recoveredPending: recovered.length,
    beginShutdown() {
      shuttingDown = true;
    },
    drain: (untilMs) => drainQueue(queue, untilMs),
    close: () => resources.close(),
  };
}
