import type { Logger } from "pino";
import { claimEvent } from "../../domain/issued-event.ts";
import type { Claim } from "../../domain/types.ts";
import type { DeliveryFailure, DeliveryLedger, DueDelivery, IssuedSink } from "../../ports/delivery.ts";
import { type BackoffPolicy, parseRetryAfter, retryDelayMs } from "./backoff.ts";
import { WebhookClient } from "./post.ts";
import { SIGNATURE_HEADER, signPayload } from "./signature.ts";
import { type Resolve, WebhookTargetError } from "./target.ts";

/**
 * Sends the webhook outbox (ports/delivery.ts). `concurrency` lanes each take
 * a leased delivery, POST it signed, and report the outcome; outcomes are
 * written back in batches (one ledger transaction per batch, not per
 * delivery). A slow receiver holds one lane, not the others.
 *
 * At least once: a delivery is marked only after its 2xx; a crash, a timeout
 * or a failed write-back means it is sent again (same deliveryId) once its
 * lease or backoff runs out. After `maxAttempts` failures it is dead, listed
 * and replayed by an admin.
 *
 * As an IssuedSink the dispatcher only wakes up: the ClaimWorker calls it
 * after the ledger committed the claims and their outbox rows.
 */
export interface WebhookOptions {
  maxAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
  timeoutMs: number;
  concurrency: number;
  /** Longest sleep when nothing is due (a delivery made due by another process is found within it). */
  pollMs?: number;
  /** WEBHOOK_ALLOW_PRIVATE: deliver to loopback, private and link-local addresses too (./target.ts). */
  allowPrivate?: boolean | undefined;
}

export interface WebhookDispatcherOptions extends WebhookOptions {
  store: DeliveryLedger;
  logger: Logger;
  now?: () => number;
  /** Name resolution at send time (tests play DNS rebinding with it). */
  resolve?: Resolve | undefined;
}

export const DEFAULT_WEBHOOK_OPTIONS: WebhookOptions = {
  maxAttempts: 12,
  retryBaseMs: 1000,
  retryMaxMs: 3_600_000,
  timeoutMs: 10_000,
  concurrency: 16,
  allowPrivate: false,
};

/** Outcomes written back per ledger transaction, at most; and how long one waits for company. */
const FLUSH_SIZE = 64;
const FLUSH_DELAY_MS = 20;
/** A lease outlives the request's timeout by this much: time to write the outcome back. */
const LEASE_MARGIN_MS = 30_000;
const MIN_IDLE_MS = 5;

export class WebhookDispatcher implements IssuedSink {
  readonly #o: WebhookDispatcherOptions;
  readonly #now: () => number;
  readonly #backoff: BackoffPolicy;
  readonly #client: WebhookClient;
  #running = false;
  #lanes: Promise<void>[] = [];
  #buffer: DueDelivery[] = [];
  #fetching: Promise<void> | undefined;
  #idle: { promise: Promise<void>; wake: () => void } | undefined;
  #delivered: string[] = [];
  #failed: DeliveryFailure[] = [];
  #flushTimer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();
  #storeFailures = 0;

  constructor(options: WebhookDispatcherOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#backoff = { baseMs: options.retryBaseMs, maxMs: options.retryMaxMs };
    this.#client = new WebhookClient({
      policy: { allowPrivate: options.allowPrivate ?? false },
      timeoutMs: options.timeoutMs,
      resolve: options.resolve,
    });
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#lanes = Array.from({ length: Math.max(1, this.#o.concurrency) }, () => this.#lane());
  }

  /** Finishes the requests in hand and writes their outcomes back. */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.#idle?.wake();
    await Promise.all(this.#lanes);
    this.#lanes = [];
    await this.#flush();
    this.#client.close();
  }

  /** IssuedSink: new outbox rows were committed; look now rather than at the next poll. */
  async publish(_claims: readonly Claim[]): Promise<void> {
    this.#idle?.wake();
  }

  async #lane(): Promise<void> {
    while (this.#running) {
      const item = this.#buffer.shift() ?? (await this.#refill());
      if (item) await this.#send(item);
      else await this.#waitForWork();
    }
  }

  /** One ledger read for all lanes at a time. */
  async #refill(): Promise<DueDelivery | undefined> {
    this.#fetching ??= (async () => {
      try {
        const now = this.#now();
        const due = await this.#o.store.claimDue(
          now,
          this.#o.concurrency * 2,
          now + this.#o.timeoutMs + LEASE_MARGIN_MS,
        );
        this.#buffer.push(...due);
        this.#storeFailures = 0;
      } catch (error) {
        this.#storeFailures++;
        this.#o.logger.warn({ err: error }, "webhook outbox unreadable; retrying");
        await sleep(Math.min(5000, 100 * 2 ** this.#storeFailures));
      }
    })().finally(() => {
      this.#fetching = undefined;
    });
    await this.#fetching;
    return this.#buffer.shift();
  }

  /** Sleeps until the next delivery is due, a publish() wakes it, or pollMs passes; shared by idle lanes. */
  async #waitForWork(): Promise<void> {
    if (!this.#idle) {
      let wake!: () => void;
      const promise = new Promise<void>((resolve) => {
        wake = resolve;
      });
      const idle = { promise, wake };
      this.#idle = idle;
      const poll = this.#o.pollMs ?? 1000;
      let delay = poll;
      try {
        const next = await this.#o.store.nextDueAt();
        // At least a few ms: never spin on a row that is due but was not handed out.
        if (next !== undefined) delay = Math.max(MIN_IDLE_MS, Math.min(poll, next - this.#now()));
      } catch {
        // The next claimDue() reports the failure.
      }
      // Idle polling alone must not keep a process alive.
      const timer = setTimeout(wake, delay);
      timer.unref();
      promise.then(() => {
        clearTimeout(timer);
        if (this.#idle === idle) this.#idle = undefined;
      });
    }
    await this.#idle.promise;
  }

  async #send(item: DueDelivery): Promise<void> {
    const event = claimEvent(item.claim);
    const body = JSON.stringify(event);
    const signedAt = Math.floor(this.#now() / 1000);
    let error: string;
    let retryAfterMs: number | undefined;
    try {
      const answer = await this.#client.post(item.url, body, {
        "content-type": "application/json",
        "user-agent": "stampede-webhook/1",
        "stampede-delivery-id": item.deliveryId,
        "stampede-event": event.event,
        "stampede-attempt": String(item.attempt),
        [SIGNATURE_HEADER]: signPayload(item.secret, body, signedAt),
      });
      if (answer.status >= 200 && answer.status < 300) {
        this.#record(item.claim.claimId, undefined);
        return;
      }
      // A 3xx is not followed (a redirect could lead anywhere, ./target.ts): it is a failure like any other.
      error = `HTTP ${answer.status}${answer.status >= 300 && answer.status < 400 ? " (redirects are not followed)" : ""}`;
      retryAfterMs = parseRetryAfter(answer.retryAfter ?? null, this.#now());
    } catch (e) {
      error = failureOf(e);
    }
    const dead = item.attempt >= this.#o.maxAttempts;
    const nextAttemptAt = dead ? null : this.#now() + retryDelayMs(this.#backoff, item.attempt, retryAfterMs);
    if (dead)
      this.#o.logger.warn(
        { deliveryId: item.deliveryId, campaignId: item.claim.campaignId, attempts: item.attempt, error },
        "webhook delivery failed for good; it is in the dead-letter list",
      );
    this.#record(item.claim.claimId, { claimId: item.claim.claimId, error, nextAttemptAt });
  }

  #record(claimId: string, failure: DeliveryFailure | undefined): void {
    if (failure) this.#failed.push(failure);
    else this.#delivered.push(claimId);
    if (this.#delivered.length + this.#failed.length >= FLUSH_SIZE) void this.#flush();
    else this.#flushTimer ??= setTimeout(() => void this.#flush(), FLUSH_DELAY_MS);
  }

  /** Writes outcomes back, one at a time; on failure they are kept for the next flush. */
  #flush(): Promise<void> {
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    this.#flushing = this.#flushing.then(async () => {
      const delivered = this.#delivered;
      const failed = this.#failed;
      this.#delivered = [];
      this.#failed = [];
      try {
        await this.#o.store.markDelivered(delivered, this.#now());
        await this.#o.store.markFailed(failed);
      } catch (error) {
        // Leases keep these from being sent again until they run out; writing
        // back later is enough. If it never succeeds they are sent again:
        // at least once, and the receiver deduplicates by deliveryId.
        this.#delivered.push(...delivered);
        this.#failed.push(...failed);
        this.#o.logger.warn({ err: error }, "webhook outcomes not written back; retrying");
        if (this.#running) this.#flushTimer ??= setTimeout(() => void this.#flush(), 1000);
      }
    });
    return this.#flushing;
  }
}

/** What a failed attempt is recorded as: short, and without the body of anything. */
function failureOf(e: unknown): string {
  if (e instanceof WebhookTargetError) return `refused: ${e.message}`;
  const error = e as NodeJS.ErrnoException & { cause?: { code?: string } };
  if (error.name === "AbortError" || error.name === "TimeoutError") return "timeout";
  return error.code ?? error.cause?.code ?? error.message;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
