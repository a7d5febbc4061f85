import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import { StampedeError } from "../../../domain/errors.ts";
import type { Campaign, CampaignCounters, Claim } from "../../../domain/types.ts";
import type {
  AdmissionStore,
  AdmitOutcome,
  AdmitRequest,
  CampaignChange,
  ChangeOutcome,
  ForgetOutcome,
  HoldOutcome,
  ReapResult,
} from "../../../ports/admission.ts";
import { Breaker } from "./breaker.ts";
import type { Outbox } from "./outbox.ts";

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
 */
export class KafkaAdmission implements AdmissionStore {
  readonly #o: KafkaAdmissionOptions;
  readonly #inner: AdmissionStore;
  readonly #breaker: Breaker;
  /** Acknowledged claims whose outbox entries go in one ZREM per campaign at the end of this turn. */
  #acknowledged: Claim[] = [];

  constructor(options: KafkaAdmissionOptions) {
    this.#o = options;
    this.#inner = options.inner;
    this.#breaker = options.breaker ?? new Breaker();
  }

  get breaker(): Breaker {
    return this.#breaker;
  }

  async admit(request: AdmitRequest): Promise<AdmitOutcome> {
    // What this process answers from memory needs neither Kafka nor Redis: before the breaker.
    const known = this.#inner.known?.(request);
    if (known) return known;
    if (!this.#breaker.tryPass())
      throw new StampedeError(
        "unavailable",
        "The claims queue (Kafka) is not answering; nothing was reserved.",
        {
          retryAfter: this.#breaker.retryAfterSec,
        },
      );
    let outcome: AdmitOutcome;
    let toSend: Claim | undefined;
    try {
      outcome = await this.#inner.admit(request);
      if (outcome.kind === "admitted" && outcome.claim.status !== "issued") {
        // A repeat (Idempotency-Key, or a re-sent call) of an admission whose
        // first answer was lost: a 202 again only once the claim is in Kafka.
        if (!outcome.replayed || (await this.#o.outbox.holds(outcome.claim))) toSend = outcome.claim;
      }
    } catch (error) {
      this.#breaker.release();
      throw error;
    }
    // Nothing to send (409, 410, ...): a probe let through learned nothing about Kafka.
    if (!toSend) {
      this.#breaker.release();
      return outcome;
    }
    await this.#send(toSend);
    return outcome;
  }

  async #send(claim: Claim): Promise<void> {
    const { logger, faultDelayMs } = this.#o;
    if (faultDelayMs) await sleep(faultDelayMs);
    const slow = setTimeout(() => this.#breaker.failure(), this.#o.slowMs);
    try {
      await this.#o.publish([claim]);
    } catch (error) {
      this.#breaker.failure();
      logger.warn(
        { err: error, claimId: claim.claimId },
        "Kafka did not acknowledge a claim; it stays in the outbox for the relay",
      );
      throw new StampedeError(
        "unavailable",
        "The claims queue (Kafka) did not acknowledge the claim; it stays reserved and will be issued (a retry answers 409).",
        { retryAfter: 1, cause: error },
      );
    } finally {
      clearTimeout(slow);
    }
    this.#breaker.success();
    this.#removeFromOutbox(claim);
  }

  /**
   * The claims Kafka acknowledged in this turn of the event loop (one produce
   * request acknowledges hundreds at once) leave the outbox together: one
   * Redis command per campaign and turn, not one per claim. Not awaited: if
   * a removal is lost, the relay sends the claim once more, and the ledger
   * ignores the repeat.
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

  known(request: AdmitRequest): AdmitOutcome | undefined {
    return this.#inner.known?.(request);
  }

  putCampaign(campaign: Campaign): Promise<void> {
    return this.#inner.putCampaign(campaign);
  }

  getCampaign(campaignId: string): Promise<Campaign | undefined> {
    return this.#inner.getCampaign(campaignId);
  }

  listCampaigns(): Promise<Campaign[]> {
    return this.#inner.listCampaigns();
  }

  counters(campaignId: string): Promise<CampaignCounters | undefined> {
    return this.#inner.counters(campaignId);
  }

  getClaim(claimId: string): Promise<Claim | undefined> {
    return this.#inner.getClaim(claimId);
  }

  userClaims(campaignId: string, userId: string): Promise<Claim[]> {
    return this.#inner.userClaims(campaignId, userId);
  }

  markWritten(claims: readonly Claim[]): Promise<void> {
    return this.#inner.markWritten(claims);
  }

  confirm(claimId: string): Promise<HoldOutcome> {
    return this.#inner.confirm(claimId);
  }

  release(claimId: string): Promise<HoldOutcome> {
    return this.#inner.release(claimId);
  }

  reapExpired(campaignId: string): Promise<ReapResult> {
    return this.#inner.reapExpired(campaignId);
  }

  changeCampaign(campaignId: string, change: CampaignChange): Promise<ChangeOutcome> {
    return this.#inner.changeCampaign(campaignId, change);
  }

  forgetUser(campaignId: string, userId: string): Promise<ForgetOutcome> {
    return this.#inner.forgetUser(campaignId, userId);
  }

  ping(): Promise<void> {
    return this.#inner.ping();
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}
