import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import { StampedeError } from "../../../domain/errors.ts";
import type { Claim } from "../../../domain/types.ts";
import type {
  AdmissionStore,
  AdmitOutcome,
  AdmitRequest,
  HoldOutcome,
  ReapResult,
} from "../../../ports/admission.ts";
import { DelegatingAdmission } from "../../delegating-admission.ts";
import { Breaker } from "./breaker.ts";
import type { Outbox } from "./outbox.ts";

const NOT_ACKNOWLEDGED_CLAIM =
  "The claims queue (Kafka) did not acknowledge the claim; it stays reserved and will be issued (a retry answers 409).";
const NOT_ACKNOWLEDGED_DECISION =
  "The claims queue (Kafka) did not acknowledge the decision; it stands and will reach the ledger (a retry answers it again).";

/** Expiry produces in flight at once; past it the relay sends them. */
const MAX_FORWARDS = 4;

export interface KafkaAdmissionOptions {
  /** The Redis admission, with the outbox sink (outbox-sink.ts). */
  inner: AdmissionStore;
  outbox: Outbox;
  /** Resolves once Kafka acknowledged the claims. */
  publish: (claims: Claim[]) => Promise<void>;
  logger: Logger;
  /** A produce slower than this counts as a failure for the breaker (the API has answered 503 by then). */
  slowMs: number;
  breaker?: Breaker;
  /** Fault injection (tests): wait this long between the reservation and the produce. */
  faultDelayMs?: number;
}

/**
 * Admission in Kafka mode (QUEUE=kafka): the Redis admission script decides
 * and reserves exactly as with Redis Streams, but puts the admitted claim in
 * the campaign's outbox instead of a stream (same script, same atomic step).
 * This store then produces the claim to Kafka and answers 202 only once Kafka
 * acknowledged it (acks=all; docs/api.md "What a 202 survives"), then removes it
 * from the outbox. If this process dies in between, or Kafka does not
 * answer, the claim stays in the outbox and a relay sends it after a lease
 * (outbox-relay.ts); its user, retrying, is answered 409 naming it. See
 * docs/kafka.md.
 *
 * Holds take the same path: a confirm or a release is decided in Redis
 * (its snapshot in the outbox, same step), produced, and answered 200 only
 * once Kafka acknowledged it, behind the same breaker; a repeat sends again
 * what the outbox still holds. Expiries (the reapers', or a confirm or
 * release that found the hold expired) are forwarded at once when Kafka
 * answers, else sent by the relay: nobody waits on them.
 */
export class KafkaAdmission extends DelegatingAdmission {
  readonly #o: KafkaAdmissionOptions;
  readonly #breaker: Breaker;
  /** Acknowledged claims whose outbox entries go in one call per campaign at the end of this turn. */
  #acknowledged: Claim[] = [];
  /** Expiry produces in flight (#forward). */
  #forwarding = 0;

  constructor(options: KafkaAdmissionOptions) {
    super(options.inner);
    this.#o = options;
    this.#breaker = options.breaker ?? new Breaker();
  }

  get breaker(): Breaker {
    return this.#breaker;
  }

  override async admit(request: AdmitRequest): Promise<AdmitOutcome> {
    // What this process answers from memory needs neither Kafka nor Redis: before the breaker.
    const known = this.inner.known?.(request);
    if (known) return known;
    const { outcome } = await this.#throughKafka(
      () => this.inner.admit(request),
      async (o) =>
        // A repeat (Idempotency-Key, or a re-sent call) of an admission whose
        // first answer was lost: a 202 again only once the claim is in Kafka.
        o.kind === "admitted" &&
        o.claim.status !== "issued" &&
        (!o.replayed || (await this.#o.outbox.holds(o.claim)))
          ? o.claim
          : undefined,
      "The claims queue (Kafka) is not answering; nothing was reserved.",
      NOT_ACKNOWLEDGED_CLAIM,
    );
    return outcome;
  }

  /**
   * Behind the breaker: decides (in Redis), then sends the claim `toSend`
   * names to Kafka and answers once Kafka acknowledged it. Nothing to send
   * (409, 410, ...): a probe let through learned nothing about Kafka.
   */
  async #throughKafka<O>(
    decide: () => Promise<O>,
    toSend: (outcome: O) => Promise<Claim | undefined>,
    refused: string,
    unacknowledged: string,
  ): Promise<{ outcome: O; sent: boolean }> {
    if (!this.#breaker.tryPass())
      throw new StampedeError("unavailable", refused, { retryAfter: this.#breaker.retryAfterSec });
    let outcome: O;
    let claim: Claim | undefined;
    try {
      outcome = await decide();
      claim = await toSend(outcome);
    } catch (error) {
      this.#breaker.release();
      throw error;
    }
    if (!claim) {
      this.#breaker.release();
      return { outcome, sent: false };
    }
    await this.#send(claim, unacknowledged);
    return { outcome, sent: true };
  }

  async #send(claim: Claim, unacknowledged: string): Promise<void> {
    const { logger, faultDelayMs } = this.#o;
    if (faultDelayMs) await sleep(faultDelayMs);
    const slow = setTimeout(() => this.#breaker.failure(), this.#o.slowMs);
    try {
      await this.#o.publish([claim]);
    } catch (error) {
      this.#breaker.failure();
      logger.warn(
        { err: error, claimId: claim.claimId, status: claim.status },
        "Kafka did not acknowledge a claim; it stays in the outbox for the relay",
      );
      throw new StampedeError("unavailable", unacknowledged, { retryAfter: 1, cause: error });
    } finally {
      clearTimeout(slow);
    }
    this.#breaker.success();
    this.#removeFromOutbox(claim);
  }

  /** A confirm or release: decided in Redis, answered once Kafka acknowledged it (like a 202). */
  async #settle(decide: () => Promise<HoldOutcome>): Promise<HoldOutcome> {
    const { outcome, sent } = await this.#throughKafka(
      decide,
      async (o) =>
        // A repeat whose first answer was lost: 200 again only once the decision is in Kafka.
        (o.kind === "confirmed" || o.kind === "released") &&
        (!o.replayed || (await this.#o.outbox.holds(o.claim)))
          ? o.claim
          : undefined,
      "The claims queue (Kafka) is not answering; nothing was decided.",
      NOT_ACKNOWLEDGED_DECISION,
    );
    if (!sent && outcome.kind === "hold_expired") this.#forward([outcome.claim]);
    return outcome;
  }

  /**
   * Expired holds: produced now if Kafka answers (a few produces in flight
   * at most), else left in the outbox for the relay. Never awaited: nobody
   * waits on an expiry, and a slow Kafka must not slow the reaper.
   */
  #forward(claims: Claim[]): void {
    const ended = claims.filter((c) => c.status === "expired" || c.status === "released");
    if (ended.length === 0 || this.#forwarding >= MAX_FORWARDS || !this.#breaker.isClosed) return;
    this.#forwarding++;
    this.#o
      .publish(ended)
      .then(() => this.#o.outbox.remove(ended))
      .catch((error: unknown) =>
        this.#o.logger.debug({ err: error }, "expired holds not forwarded to Kafka; the relay sends them"),
      )
      .finally(() => {
        this.#forwarding--;
      });
  }

  /**
   * The claims Kafka acknowledged in this turn of the event loop (one produce
   * request acknowledges hundreds at once) leave the outbox together: one
   * Redis command per campaign and turn, not one per claim. Not awaited: if
   * a removal is lost, the relay sends the claim once more, and the ledger
   * ignores the repeat. A claim decided again meanwhile (a hold confirmed
   * right after its admission) keeps its entry (outbox-ack-2.lua).
   */
  #removeFromOutbox(claim: Claim): void {
    if (this.#acknowledged.push(claim) > 1) return;
    setImmediate(() => {
      const claims = this.#acknowledged;
      this.#acknowledged = [];
      this.#o.outbox
        .remove(claims)
        .catch((error: unknown) =>
          this.#o.logger.debug({ err: error }, "outbox removal failed; the relay sends it again"),
        );
    });
  }

  override confirm(claimId: string): Promise<HoldOutcome> {
    return this.#settle(() => this.inner.confirm(claimId));
  }

  override release(claimId: string): Promise<HoldOutcome> {
    return this.#settle(() => this.inner.release(claimId));
  }

  override async reapExpired(campaignId: string): Promise<ReapResult> {
    const result = await this.inner.reapExpired(campaignId);
    this.#forward(result.expired);
    return result;
  }
}
