/**
 * `stampede worker`: one worker process of distributed mode. It consumes
 * the claims (Redis Streams, or the Kafka topic), writes them to PostgreSQL
 * in batches, marks them issued in Redis and publishes that; runs tasks;
 * delivers webhooks; expires holds whose time has come (hold-reaper.ts);
 * releases the waiting rooms' tickets (room-releaser.ts);
 * and watches for a lost or stale Redis (rebuilt from the ledger) and for
 * ended campaigns whose Redis keys may expire. Its HTTP
 * face serves only /healthz, /readyz and /metrics (worker-app.ts). Any
 * number of them run side by side: consumer groups and leases share the work.
 */

import type { Logger } from "pino";
import { KafkaIssuedSink, kafkaTimeouts } from "../../adapters/kafka/index.ts";
import { LossMonitor, RetentionSweeper } from "../../adapters/redis/index.ts";
import { requireDistributed } from "../../config/commands.ts";
import type { Config } from "../../config/config.ts";
import type { Claim } from "../../domain/types.ts";
import { countFailures } from "../../ops/metrics/instrument.ts";
import type { IssuedSink } from "../../ports/delivery.ts";
import type { Queue } from "../../ports/queue.ts";
import { ClaimWorker } from "../../workers/claim-worker.ts";
import { fanOut } from "../../workers/fan-out.ts";
import { WebhookDispatcher } from "../../workers/webhook/dispatcher.ts";
import { webhookOptions } from "../../workers/webhook/options.ts";
import { type Probe, readinessOf } from "../readiness.ts";
import { openWith } from "../resources.ts";
import type { Runtime } from "../runtime.ts";
import { apiParts } from "./api-parts.ts";
import { HoldReaper } from "./hold-reaper.ts";
import { RoomReleaser } from "./room-releaser.ts";
import { claimsStreams, type DistributedOverrides, openShared, replicated } from "./shared.ts";
import { TransferSweep } from "./transfer-sweep.ts";

export async function openDistributedWorker(
  config: Config,
  logger: Logger,
  overrides: DistributedOverrides = {},
): Promise<Runtime> {
  const settings = requireDistributed(config);
  return openWith(logger, async (resources) => {
    const shared = await openShared(settings, logger, resources, overrides, {
      role: "worker",
      ledgerPoolSize: 4,
      waitForPostgres: true,
      runsTasks: true,
      soldOutCacheMaxHolders: 0,
    });
    const { redis, keys, ledger, admission, metrics, kafka, kafkaTasks } = shared;

    // Workers publish what they issued to the shop's topic (docs/kafka.md, "The issued topic").
    const issuedTopic =
      kafka && settings.KAFKA_ISSUED_TOPIC !== undefined
        ? resources.add(
            "kafka issued topic",
            await KafkaIssuedSink.open({
              brokers: settings.KAFKA_BROKERS,
              topic: settings.KAFKA_ISSUED_TOPIC,
              partitions: settings.KAFKA_PARTITIONS,
              replicationFactor: settings.KAFKA_REPLICATION_FACTOR || undefined,
              minInsyncReplicas: settings.KAFKA_MIN_INSYNC_REPLICAS || undefined,
              clientId: `stampede-worker-${shared.instance}-issued`,
              logger,
              ...kafkaTimeouts(settings),
            }),
            (sink) => sink.close(),
          )
        : undefined;
    if (issuedTopic) logger.info({ topic: issuedTopic.topic }, "publishing issued claims to Kafka");

    // The webhook outbox (docs/lifecycle.md); leases make any number of workers safe.
    const dispatcher = resources.add(
      "webhook dispatcher",
      new WebhookDispatcher({ ...webhookOptions(settings), store: ledger.deliveries, logger }),
      (d) => d.stop(),
    );
    const queue: Queue<Claim> = kafka
      ? kafka.queue
      : claimsStreams(shared, await shared.connections.open("blocking", "blocking"));
    // A failed issued publish fails the batch: it is retried and its offsets
    // stay uncommitted until every sink resolved (at least once, never lost).
    const sinks: IssuedSink[] = [dispatcher];
    if (issuedTopic) sinks.push(countFailures(issuedTopic, "kafka", metrics));
    const worker = resources.add(
      "claim worker",
      new ClaimWorker({
        queue,
        ledger: countFailures(ledger, "ledger", metrics),
        admission,
        notifier: shared.notifier,
        logger,
        batchSize: settings.BATCH_SIZE,
        flushIntervalMs: settings.FLUSH_INTERVAL_MS,
        issuedSink: sinks.length === 1 ? dispatcher : fanOut(sinks),
        onBatch: metrics.observeBatch,
      }),
      (w) => w.stop(),
    );
    const retentionGraceMs = settings.REDIS_RETENTION_GRACE_S * 1000;
    const lossMonitor = resources.add(
      "loss monitor",
      new LossMonitor({
        redis,
        keys,
        ledger,
        rebuild: (campaignId) => admission.rebuild(campaignId),
        logger,
        intervalMs: settings.LOSS_CHECK_MS,
        retentionGraceMs,
      }),
      (m) => m.stop(),
    );
    const retention = resources.add(
      "retention sweeper",
      new RetentionSweeper({
        redis,
        keys,
        ledger,
        logger,
        graceMs: retentionGraceMs,
        intervalMs: settings.RETENTION_CHECK_MS,
      }),
      (r) => r.stop(),
    );
    // Expiries through the same path as decisions: in Kafka mode, forwarded to the topic (with
    // REDIS_WAIT_REPLICAS only those replicas hold; the relay sends the rest once they do). With
    // Redis Streams they reach the ledger through the stream, whose consumer waits for replicas.
    const holds = kafka ? kafka.admission(replicated(shared)) : admission;
    const reaper = resources.add(
      "hold reaper",
      new HoldReaper({
        campaigns: () => admission.holdCampaigns(),
        reap: (campaignId) => holds.reapExpired(campaignId),
        intervalMs: settings.HOLD_REAP_INTERVAL_MS,
        logger,
      }),
      (r) => r.stop(),
    );
    // Hot campaigns over shards: transfers a crashed API process left half-done.
    const transfers = resources.add(
      "transfer sweep",
      new TransferSweep({ settle: () => admission.settleTransfers(), logger }),
      (t) => t.stop(),
    );
    // Waiting rooms: every worker releases every room's line (one budget, one head, in Redis).
    const releaser = resources.add(
      "waiting room releaser",
      new RoomReleaser({
        campaigns: () => shared.redisWaitingRoom.campaigns(),
        release: (campaignId, max) => shared.waitingRoom.release(campaignId, max),
        logger,
      }),
      (r) => r.stop(),
    );
    let shuttingDown = false;
    resources.defer("readiness", () => {
      shuttingDown = true;
    });
    // Started once everything opened: a start that fails leaves nothing running.
    dispatcher.start();
    worker.start();
    lossMonitor.start();
    retention.start();
    reaper.start();
    transfers.start();
    releaser.start();

    const probes: Probe[] = [{ name: "redis", probe: () => admission.ping() }];
    if (kafka)
      probes.push({
        name: "kafka",
        probe: async () => {
          await kafka.queue.ping();
          // A worker that has not joined the consumer groups yet consumes nothing.
          if (!(kafka.queue.consuming && kafkaTasks?.consuming))
            throw new Error("not in the consumer groups yet");
        },
      });
    probes.push({ name: "postgresql", probe: () => ledger.ping() });
    return {
      api: apiParts(shared, {
        mode: "worker",
        readiness: readinessOf(probes, settings.READINESS_TIMEOUT_MS),
        isShuttingDown: () => shuttingDown,
        claimsQueue: queue,
      }),
      startReport: shared.startReport,
      beginShutdown() {
        shuttingDown = true;
      },
      close: () => resources.close(),
    };
  });
}
