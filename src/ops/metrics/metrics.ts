import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { QueueLag } from "../../ports/queue.ts";
import { FastCounter, FastHistogram } from "./fast.ts";

/**
 * One prom-client registry per process (never the global one, so tests can
 * build several apps in one process). Labels are bounded on purpose: `route`
 * is the route PATTERN (`/v1/campaigns/:id/claims`), never the URL (one
 * `(unmatched)` for every URL no route matches), and nothing is labelled by
 * campaign, user or claim: queue lag from one stream per campaign is summed
 * per consumer group unless METRICS_CAMPAIGN_LABELS=true. The per-request metrics
 * are FastCounter/FastHistogram (./fast.ts) and every label combination is
 * cached, so the hot path is a Map lookup and a few additions.
 */
export type AdmissionOutcome =
  | "admitted"
  | "already_claimed"
  | "not_active"
  | "sold_out"
  | "campaign_not_found"
  | "rate_limited"
  | "error";

export interface BatchObservation {
  size: number;
  issued: number;
  conflicts: number;
  durationMs: number;
  /** Holds the batch moved to a final state in the ledger, by outcome. */
  holds?: Record<HoldOutcomeLabel, number>;
}

/** How a hold ended (docs/api.md "Holds"): confirmed (issued), released, expired. */
export type HoldOutcomeLabel = "confirmed" | "released" | "expired";
export const HOLD_OUTCOMES: readonly HoldOutcomeLabel[] = ["confirmed", "released", "expired"];

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const BATCH_SIZE_BUCKETS = [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000];
const BATCH_DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** The claim route, whose latency the dashboard charts. */
export const CLAIM_ROUTE = "/v1/campaigns/:id/claims";

interface HttpChild {
  observe: (seconds: number) => void;
  byStatus: Map<number, () => void>;
}

export class Metrics {
  readonly registry = new Registry();
  readonly contentType: string = this.registry.contentType;
  readonly httpRequests: FastCounter<"route" | "method" | "status">;
  readonly httpDuration: FastHistogram<"route" | "method">;
  readonly admissions: FastCounter<"outcome">;
  readonly issued: Counter;
  readonly holds: Counter<"outcome">;
  readonly ledgerConflicts: Counter;
  readonly batchSize: Histogram;
  readonly batchDuration: Histogram;
  readonly dependencyErrors: Counter<"dependency">;
  readonly redisCommands: FastCounter<"role" | "connection">;
  readonly queueLag: Gauge<"source">;
  #lagSource: (() => Promise<QueueLag[]>) | undefined;
  #campaignLabels = false;
  readonly #http = new Map<string, Map<string, HttpChild>>();
  readonly #admission = new Map<string, { inc: () => void }>();

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.httpRequests = new FastCounter({
      name: "stampede_http_requests_total",
      help: "HTTP requests answered, by route pattern, method and status",
      labelNames: ["route", "method", "status"],
      registers,
    });
    this.httpDuration = new FastHistogram({
      name: "stampede_http_request_duration_seconds",
      help: "HTTP request latency by route pattern and method (event streams excluded)",
      labelNames: ["route", "method"],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.admissions = new FastCounter({
      name: "stampede_admissions_total",
      help: "admission decisions by outcome: admitted, or the reason for the rejection",
      labelNames: ["outcome"],
      registers,
    });
    this.issued = new Counter({
      name: "stampede_claims_issued_total",
      help: "claims the worker wrote to the ledger (redeliveries included)",
      registers,
    });
    this.holds = new Counter({
      name: "stampede_holds_total",
      help: "holds that reached a final state in the ledger, by outcome: confirmed, released, expired (counted by the worker that wrote them, once each)",
      labelNames: ["outcome"],
      registers,
    });
    for (const outcome of HOLD_OUTCOMES) this.holds.inc({ outcome }, 0);
    this.ledgerConflicts = new Counter({
      name: "stampede_ledger_conflicts_total",
      help: "claims the ledger refused because another claim holds their unit or user slot",
      registers,
    });
    this.batchSize = new Histogram({
      name: "stampede_worker_batch_size",
      help: "claims per worker batch",
      buckets: BATCH_SIZE_BUCKETS,
      registers,
    });
    this.batchDuration = new Histogram({
      name: "stampede_worker_batch_duration_seconds",
      help: "time to issue one worker batch (ledger transaction, status, notification)",
      buckets: BATCH_DURATION_BUCKETS,
      registers,
    });
    this.dependencyErrors = new Counter({
      name: "stampede_dependency_errors_total",
      help: "calls to a dependency (admission store, queue, ledger, Redis, ...) that failed",
      labelNames: ["dependency"],
      registers,
    });
    this.redisCommands = new FastCounter({
      name: "stampede_redis_commands_total",
      help: "commands this process sent to Redis, by process role and connection (adapters/redis/command-count.ts)",
      labelNames: ["role", "connection"],
      registers,
    });
    const lagSource = () => this.#lagSource;
    const campaignLabels = () => this.#campaignLabels;
    const countError = (dependency: string) => this.dependencyError(dependency);
    this.queueLag = new Gauge({
      name: "stampede_queue_lag",
      help: "messages admitted but not yet acknowledged by the worker, per partition or stream",
      labelNames: ["source"],
      registers,
      // Every process reads the same queues: summed over --processes N it would count them N times.
      aggregator: "max",
      // Read on scrape only: nothing runs between scrapes.
      async collect() {
        const source = lagSource();
        if (!source) return;
        try {
          const lags = await source();
          this.reset();
          for (const [name, lag] of lagSeries(lags, campaignLabels())) this.set({ source: name }, lag);
        } catch {
          countError("queue");
        }
      },
    });
    // Event-loop lag (nodejs_eventloop_lag_*), heap, GC, CPU, file descriptors.
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  /**
   * Where the queue-lag gauge reads from at scrape time; `campaignLabels`
   * (METRICS_CAMPAIGN_LABELS) keeps one series per campaign's stream.
   */
  setQueueLagSource(
    source: (() => Promise<QueueLag[]>) | undefined,
    options: { campaignLabels?: boolean | undefined } = {},
  ): void {
    this.#lagSource = source;
    this.#campaignLabels = options.campaignLabels ?? false;
  }

  /** Counts one answered request; `seconds` is undefined for event streams (their duration is not latency). */
  observeHttp(route: string, method: string, status: number, seconds: number | undefined): void {
    // Nested maps keyed by the (interned) route pattern, method and numeric
    // status: no string is built per request.
    let byMethod = this.#http.get(route);
    if (!byMethod) {
      byMethod = new Map();
      this.#http.set(route, byMethod);
    }
    let child = byMethod.get(method);
    if (!child) {
      const histogram = this.httpDuration.labels({ route, method });
      child = { observe: histogram.observe, byStatus: new Map() };
      byMethod.set(method, child);
    }
    let count = child.byStatus.get(status);
    if (!count) {
      count = this.httpRequests.labels({ route, method, status: String(status) }).inc;
      child.byStatus.set(status, count);
    }
    count();
    if (seconds !== undefined) child.observe(seconds);
  }

  admission(outcome: AdmissionOutcome): void {
    let child = this.#admission.get(outcome);
    if (!child) {
      child = this.admissions.labels({ outcome });
      this.#admission.set(outcome, child);
    }
    child.inc();
  }

  /** ClaimWorker's `onBatch` hook. */
  readonly observeBatch = (batch: BatchObservation): void => {
    this.batchSize.observe(batch.size);
    this.batchDuration.observe(batch.durationMs / 1000);
    if (batch.issued > 0) this.issued.inc(batch.issued);
    if (batch.conflicts > 0) this.ledgerConflicts.inc(batch.conflicts);
    if (batch.holds)
      for (const outcome of HOLD_OUTCOMES)
        if (batch.holds[outcome] > 0) this.holds.inc({ outcome }, batch.holds[outcome]);
  };

  /** The counter of one Redis connection's commands: call it once per command sent. */
  redisCommandCounter(role: string, connection: string): () => void {
    const child = this.redisCommands.labels({ role, connection });
    return () => child.inc();
  }

  dependencyError(dependency: string): void {
    this.dependencyErrors.inc({ dependency });
  }

  /** The Prometheus text exposition. */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}

/** The queue-lag series: one per source, except sources of a group, summed under its name (see QueueLag.group). */
export function lagSeries(lags: readonly QueueLag[], campaignLabels: boolean): Map<string, number> {
  const series = new Map<string, number>();
  for (const { source, lag, group } of lags) {
    const name = campaignLabels || group === undefined ? source : group;
    series.set(name, (series.get(name) ?? 0) + lag);
  }
  return series;
}
