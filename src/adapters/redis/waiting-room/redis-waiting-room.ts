import { BoundedCache } from "../../../domain/bounded-cache.ts";
import { retryAfterSeconds } from "../../../domain/rate-policy.ts";
import type { NotActiveReason } from "../../../ports/admission.ts";
import type {
  JoinOutcome,
  JoinRequest,
  LineStats,
  ReleaseResult,
  TicketView,
  WaitingRoomStore,
} from "../../../ports/waiting-room.ts";
import type { AdmissionContext } from "../admission/context.ts";
import { beingRebuilt, redisDidNotAnswer, unavailableOnFailure } from "../admission/unavailable.ts";
import type { RedisClient } from "../connection.ts";
import { ROOM, ROOM_EVENT_KINDS, type RoomEventKind } from "./codes.ts";
import { type ReleaseReport, releaseTick } from "./release.ts";
import { TicketIds } from "./ticket-ids.ts";
import { drawValue, ticketView, type ViewReply } from "./views.ts";

export interface RedisWaitingRoomOptions {
  /** A connection dedicated to subscriptions (the notifier's does): subscribe() listens on it. */
  subscriber?: RedisClient;
  /** The release budget's burst: at most this many ms of releasePerSecond at once (default 200). */
  burstMs?: number;
  /** drawOrder(): userIds read per page (default 1000). */
  drawPageSize?: number;
}

export type RoomListener = (kind: RoomEventKind, campaignId: string) => void;

type Reply = (string | number)[];

/**
 * The waiting room in Redis (docs/api.md "Waiting room"; the layout:
 * lua/includes/room.lua): one sorted set per campaign, beside its admission
 * keys under its hash tag, so that joining (room-join-5.lua: the pre-queue or
 * late decision by Redis TIME, the claims' rate limits, one ticket per user)
 * and releasing (room-release-8.lua: pop and admit as admit-9 does, in one
 * step) are each one atomic script. The draw is implicit: a pre-queued
 * ticket is placed by its drawValue as it joins, so the line stands in draw
 * order at startsAt without any work then. Built by RedisAdmission
 * (waitingRoom()), whose sink, rate limits, definitions and state loader it
 * shares.
 */
export class RedisWaitingRoom implements WaitingRoomStore {
  readonly #ctx: AdmissionContext;
  readonly #o: RedisWaitingRoomOptions;
  readonly #ids = new TicketIds();
  readonly #listeners = new Set<RoomListener>();
  /** Per campaign, how many tickets the last release said the next one could release. */
  readonly #hints = new BoundedCache<string, number>({ maxSize: 10_000 });
  #subscribed: Promise<void> | undefined;
  #unsubscribe: (() => void) | undefined;

  constructor(ctx: AdmissionContext, options: RedisWaitingRoomOptions = {}) {
    this.#ctx = ctx;
    this.#o = options;
  }

  async join(request: JoinRequest): Promise<JoinOutcome> {
    const { campaignId, userId } = request;
    const campaign = await this.#ctx.definitions.get(campaignId);
    if (!campaign) return { kind: "campaign_not_found" };
    const room = campaign.waitingRoom;
    if (!room) return { kind: "no_waiting_room" };
    const value = drawValue(room.seed, userId);
    for (let attempt = 0; attempt < 3; attempt++) {
      const key = this.#ids.key(campaignId);
      const id = TicketIds.derive(key, userId);
      const reply = await this.#join(request, id, key, value);
      switch (reply[0]) {
        case ROOM.JOINED:
          return { kind: "joined", ticket: ticketView(campaign, id, reply.slice(1) as ViewReply) };
        case ROOM.EXISTING:
          return { kind: "existing", ticket: ticketView(campaign, id, reply.slice(1) as ViewReply) };
        case ROOM.NOT_ACTIVE:
          return { kind: "not_active", reason: reply[1] as NotActiveReason };
        case ROOM.SOLD_OUT:
          return { kind: "sold_out" };
        case ROOM.RATE_LIMITED:
          return { kind: "rate_limited", retryAfterSec: retryAfterSeconds(Number(reply[1])) };
        case ROOM.NO_ROOM:
          return { kind: "no_waiting_room" };
        case ROOM.KEY_CHANGED:
          this.#ids.learn(campaignId, String(reply[1]));
          continue;
        default: {
          // No state (lost with Redis, or never loaded here), or being rebuilt: load it, then again.
          const ready = await this.#ctx.loader.ready(campaignId);
          if (ready === "unknown") return { kind: "campaign_not_found" };
          if (ready === "retired")
            return { kind: "not_active", reason: campaign.status === "closed" ? "closed" : "ended" };
          if (ready === "timeout") throw beingRebuilt();
        }
      }
    }
    throw beingRebuilt();
  }

  async #join(request: JoinRequest, id: string, key: string, value: string): Promise<Reply> {
    const { rateUser, rateIp, keys, scripts } = this.#ctx;
    const k = keys.campaign(request.campaignId);
    try {
      return (await scripts.roomJoin(
        [
          k.state,
          k.line,
          k.tickets,
          rateUser ? k.rateUser(request.userId) : k.noIdempotency,
          rateIp ? k.rateIp(request.clientIp ?? "") : k.noIdempotency,
        ],
        [
          request.campaignId,
          request.userId,
          id,
          key,
          Buffer.from(value.slice(0, 32), "hex"),
          rateUser ? rateUser.intervalMs : "",
          rateUser ? rateUser.burst : "",
          rateIp ? rateIp.intervalMs : "",
          rateIp ? rateIp.burst : "",
        ],
      )) as Reply;
    } catch (error) {
      throw redisDidNotAnswer(error);
    }
  }

  async ticket(campaignId: string, ticketId: string): Promise<TicketView | undefined> {
    const id = TicketIds.local(campaignId, ticketId);
    if (id === undefined) return undefined;
    const campaign = await this.#ctx.definitions.get(campaignId);
    if (!campaign?.waitingRoom) return undefined;
    const k = this.#ctx.keys.campaign(campaignId);
    const reply = (await unavailableOnFailure(
      this.#ctx.scripts.roomTicket([k.state, k.line, k.tickets], [id]),
      "Redis did not answer.",
    )) as Reply;
    if (reply[0] === ROOM.REBUILDING) throw beingRebuilt();
    if (reply[0] !== ROOM.OK) return undefined;
    return ticketView(campaign, id, reply.slice(1) as ViewReply);
  }

  async release(campaignId: string, max: number): Promise<ReleaseResult> {
    const { admitted, soldOut } = await this.releaseReport(campaignId, max);
    return { admitted, soldOut };
  }

  /**
   * release(), with what the tick put in the sink (Kafka mode forwards it at
   * once: kafka/admission/kafka-waiting-room.ts). Nothing is done for a
   * campaign whose state is missing or being rebuilt (its rebuild comes
   * first, from the API's next request or the loss monitor).
   */
  async releaseReport(campaignId: string, max: number): Promise<ReleaseReport> {
    const campaign = await this.#ctx.definitions.get(campaignId);
    if (!campaign?.waitingRoom)
      return {
        admitted: [],
        soldOut: false,
        claims: [],
        expired: [],
        served: 0,
        waiting: 0,
        free: 0,
        skipped: "no_room",
      };
    // A call carries a claim id and a coupon code per ticket it may release: as many as the last
    // call said could go (never fewer than one, so a change is seen), not `max` every tick.
    const hint = this.#hints.get(campaignId);
    const n = Math.max(1, Math.min(max, hint ?? max));
    const report = await releaseTick(this.#ctx, this.#ctx.keys.roomEventsChannel, campaign, n, {
      burstMs: this.#o.burstMs ?? 200,
    });
    this.#hints.set(campaignId, report.soldOut ? 0 : Math.min(report.waiting, report.free));
    return report;
  }

  async stats(campaignId: string): Promise<LineStats | undefined> {
    const k = this.#ctx.keys.campaign(campaignId);
    const [pre, joined, prequeued, served, soldOut, revision] = await unavailableOnFailure(
      this.#ctx.redis.hmget(
        k.state,
        "roomPre",
        "roomJoined",
        "roomPrequeued",
        "roomServed",
        "roomSoldOut",
        "lifecycleRevision",
      ),
      "Redis did not answer.",
    );
    if (pre === null) return undefined;
    const admitted = Number(served ?? 0);
    return {
      waiting: Math.max(0, Number(joined ?? 0) - admitted),
      prequeued: Number(prequeued ?? 0),
      admitted,
      soldOut: soldOut !== null && soldOut === (revision ?? "0"),
    };
  }

  /** The pre-queue's drawValues in draw order, a page at a time (room-draw-2.lua reads the userIds). */
  async *drawOrder(campaignId: string): AsyncIterable<readonly string[]> {
    const campaign = await this.#ctx.definitions.get(campaignId);
    const seed = campaign?.waitingRoom?.seed;
    const stats = await this.stats(campaignId);
    if (!seed || !stats) return;
    const k = this.#ctx.keys.campaign(campaignId);
    const size = this.#o.drawPageSize ?? 1000;
    for (let from = 0; from < stats.prequeued; from += size) {
      const users = (await unavailableOnFailure(
        this.#ctx.scripts.roomDraw([k.line, k.tickets], [from, size]),
        "Redis did not answer.",
      )) as string[];
      if (users.length === 0) return;
      yield users.map((user) => drawValue(seed, user));
      if (users.length < size) return;
    }
  }

  /** The campaigns with a waiting room (the releasers' list: a registry set the rebuild fills). */
  campaigns(): Promise<string[]> {
    return this.#ctx.redis.smembers(this.#ctx.keys.roomsRegistry);
  }

  /**
   * Listens to the room events channel ("moved": a line moved; "sold_out": a
   * line was marked hopeless): one subscription per process, whatever the
   * number of listeners, so a ticket's event stream recomputes its position
   * when its line moves instead of polling. Resolves once the subscription is
   * live; the returned function removes the listener. At most once, like all
   * pub/sub: a stream also re-reads on its own timer.
   */
  async subscribe(listener: RoomListener): Promise<() => void> {
    this.#listeners.add(listener);
    this.#subscribed ??= this.#listen();
    await this.#subscribed;
    return () => this.#listeners.delete(listener);
  }

  async #listen(): Promise<void> {
    const subscriber = this.#o.subscriber;
    if (!subscriber) throw new Error("RedisWaitingRoom: no subscriber connection to listen on");
    const channel = this.#ctx.keys.roomEventsChannel;
    const onMessage = (from: string, message: string) => {
      if (from !== channel) return;
      const space = message.indexOf(" ");
      const kind = message.slice(0, space);
      if (space <= 0 || !ROOM_EVENT_KINDS.has(kind)) return;
      const campaignId = message.slice(space + 1);
      for (const listener of this.#listeners) listener(kind as RoomEventKind, campaignId);
    };
    subscriber.on("message", onMessage);
    this.#unsubscribe = () => {
      subscriber.off("message", onMessage);
      void subscriber.unsubscribe(channel).catch(() => undefined);
    };
    await subscriber.subscribe(channel);
  }

  close(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    this.#subscribed = undefined;
    this.#listeners.clear();
  }
}
