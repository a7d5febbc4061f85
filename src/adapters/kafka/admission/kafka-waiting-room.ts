import type { Logger } from "pino";
import type { Claim } from "../../../domain/types.ts";
import type {
  JoinOutcome,
  JoinRequest,
  LineStats,
  ReleaseResult,
  TicketView,
  WaitingRoomStore,
} from "../../../ports/waiting-room.ts";
import type { RedisWaitingRoom } from "../../redis/waiting-room/redis-waiting-room.ts";
import { Breaker } from "./breaker.ts";
import type { Outbox } from "./outbox.ts";

export interface KafkaWaitingRoomOptions {
  /** The Redis waiting room, whose admission has the outbox sink (outbox-sink.ts). */
  inner: RedisWaitingRoom;
  outbox: Outbox;
  /** Resolves once Kafka acknowledged the claims. */
  publish: (claims: Claim[]) => Promise<void>;
  logger: Logger;
  breaker?: Breaker;
}

/**
 * The waiting room in Kafka mode (QUEUE=kafka). Joins and reads are
 * Redis's alone. A release admits in Redis exactly as with Redis Streams,
 * the claims going to the campaign's outbox in the same atomic step
 * (room-release-8.lua); nobody waits on them, so this releaser produces them
 * at once (and the holds the tick expired), and takes them off the outbox
 * once Kafka acknowledged: a released ticket's claim is in Kafka one produce
 * after its release. A produce that fails leaves them in the outbox, for
 * the relay (outbox-relay.ts) after KAFKA_OUTBOX_LEASE_MS, as a worker killed
 * between the release and the produce does; and while Kafka fails (the
 * breaker is open) releases wait, so no more claims pile up in Redis alone.
 */
export class KafkaWaitingRoom implements WaitingRoomStore {
  readonly #o: KafkaWaitingRoomOptions;
  readonly #inner: RedisWaitingRoom;
  readonly #breaker: Breaker;

  constructor(options: KafkaWaitingRoomOptions) {
    this.#o = options;
    this.#inner = options.inner;
    this.#breaker = options.breaker ?? new Breaker();
  }

  join(request: JoinRequest): Promise<JoinOutcome> {
    return this.#inner.join(request);
  }

  ticket(campaignId: string, ticketId: string): Promise<TicketView | undefined> {
    return this.#inner.ticket(campaignId, ticketId);
  }

  async release(campaignId: string, max: number): Promise<ReleaseResult> {
    if (!this.#breaker.tryPass()) return { admitted: [], soldOut: false };
    let report: Awaited<ReturnType<RedisWaitingRoom["releaseReport"]>>;
    try {
      report = await this.#inner.releaseReport(campaignId, max);
    } catch (error) {
      this.#breaker.release();
      throw error;
    }
    const toSend = [...report.claims, ...report.expired];
    if (toSend.length === 0) {
      this.#breaker.release();
      return { admitted: report.admitted, soldOut: report.soldOut };
    }
    try {
      await this.#o.publish(toSend);
    } catch (error) {
      this.#breaker.failure();
      this.#o.logger.warn(
        { err: error, campaignId, claims: toSend.length },
        "Kafka did not acknowledge released tickets' claims; they stay in the outbox for the relay",
      );
      return { admitted: report.admitted, soldOut: report.soldOut };
    }
    this.#breaker.success();
    await this.#o.outbox
      .remove(toSend)
      .catch((error: unknown) =>
        this.#o.logger.debug({ err: error }, "outbox removal failed; the relay sends them again"),
      );
    return { admitted: report.admitted, soldOut: report.soldOut };
  }

  stats(campaignId: string): Promise<LineStats | undefined> {
    return this.#inner.stats(campaignId);
  }

  drawOrder(campaignId: string): AsyncIterable<readonly string[]> {
    return this.#inner.drawOrder(campaignId);
  }
}
