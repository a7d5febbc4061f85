import type { Metrics } from "../ops/metrics/metrics.ts";
import type { AdmissionStore } from "../ports/admission.ts";
import type { DeliveryLedger } from "../ports/delivery.ts";
import type { Ledger } from "../ports/ledger.ts";
import type { LifecycleLedger } from "../ports/lifecycle-ledger.ts";
import type { Notifier } from "../ports/notifier.ts";
import type { QueueLag } from "../ports/queue.ts";
import type { StatsSource } from "../ports/stats.ts";
import type { TaskService } from "../services/tasks/task-service.ts";

/** One dependency's answer to a readiness check. */
export interface DependencyStatus {
  name: string;
  ok: boolean;
  error?: string;
}

/** Decides whether a user may try again now; undefined = go on, a number = retry after that many seconds. */
export interface RateLimiter {
  check(campaignId: string, userId: string, clientIp: string): Promise<number | undefined>;
}

/**
 * Verifies a user's token (USER_TOKEN_SECRET) and resolves with its subject,
 * the userId it speaks for; rejects a missing, forged or expired one.
 */
export interface UserTokens {
  subject(token: string): Promise<string>;
}

/** What the HTTP API needs from the process it runs in, whatever the mode. */
export interface ApiDeps {
  admission: AdmissionStore;
  ledger: Ledger;
  notifier: Notifier;
  adminToken: string;
  /** Checks the dependencies this process's role needs. */
  readiness: () => Promise<DependencyStatus[]>;
  /** True from the moment a graceful shutdown begins. */
  isShuttingDown?: () => boolean;
  rateLimiter?: RateLimiter;
  /** When set, claims and reads of claims need the user's token (SPEC "Identity and tokens"). */
  userTokens?: UserTokens;
  /** How long a claim may wait on a dependency before it is answered 503. */
  requestTimeoutMs?: number;
  corsOrigins?: string[];
  now?: () => number;
  /** Milliseconds between SSE heartbeat comments (15 s by contract; tests shorten it). */
  sseHeartbeatMs?: number;
  /** The task pipeline (POST /v1/tasks ...); its routes exist only when it is given. */
  tasks?: TaskService;
  /** Lifecycle, audit, erasure and webhook routes (docs/lifecycle.md); without it they are not served. */
  lifecycle?: { ledger: LifecycleLedger; deliveries: DeliveryLedger };
  /** This process's metrics registry (the worker reports into it too); buildApp makes one when absent. */
  metrics?: Metrics;
  /** "embedded", "api", ...: shown by /v1/admin/stats. */
  mode?: string;
  /** Queue lag per partition or stream, for /metrics, /v1/admin/stats and the dashboard. */
  queueLag?: () => Promise<QueueLag[]>;
  /** Mode- and adapter-specific sections of /v1/admin/stats (ledger counts, Redis memory, ...). */
  stats?: StatsSource[];
}
