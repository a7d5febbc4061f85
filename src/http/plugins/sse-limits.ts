/**
 * Caps on event streams (SSE_MAX_PER_CLIENT, SSE_MAX_TOTAL). An open stream
 * costs a socket, a subscription and a heartbeat timer for as long as its
 * client likes, and the claim streams are public: without a cap, one client
 * could hold the process's file descriptors and memory. Beyond the cap of
 * its address a client is answered `429 rate_limited`; beyond the process's
 * cap, anyone is answered `503 unavailable` (another instance may have room);
 * both with Retry-After.
 *
 * A slot is taken when the request arrives, before its checks and its
 * subscription, and given back when its response closes, whatever ended it
 * (refused, finished, or the client gone): concurrent openings cannot
 * overshoot the cap, and a refused one costs nothing. The address is
 * `request.ip` (X-Forwarded-For only with TRUST_PROXY). Only the addresses
 * holding a stream are remembered, so the map is bounded by the total cap.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler } from "fastify";
import { StampedeError } from "../../domain/errors.ts";

export interface EventStreamLimits {
  /** Streams one client address may hold at once. */
  maxPerClient: number;
  /** Streams this process holds at once. */
  maxTotal: number;
}

export const DEFAULT_EVENT_STREAM_LIMITS: EventStreamLimits = { maxPerClient: 20, maxTotal: 10_000 };

/** Clients that hit a cap are told to come back later than a heartbeat's interval from now. */
const RETRY_AFTER_S = 5;

const CLIENT_FULL = new StampedeError("rate_limited", "Too many open event streams from this address.", {
  retryAfter: RETRY_AFTER_S,
});
const SERVER_FULL = new StampedeError("unavailable", "This server holds as many event streams as it may.", {
  retryAfter: RETRY_AFTER_S,
});

/** How many event streams are open, in all and per client address. */
export class EventStreamSlots {
  readonly #limits: EventStreamLimits;
  readonly #perClient = new Map<string, number>();
  #total = 0;

  constructor(limits: EventStreamLimits) {
    this.#limits = limits;
  }

  get total(): number {
    return this.#total;
  }

  /** Takes a slot for `client`, or throws the answer that refuses it. Call `release` exactly once. */
  take(client: string): () => void {
    const held = this.#perClient.get(client) ?? 0;
    if (held >= this.#limits.maxPerClient) throw CLIENT_FULL;
    if (this.#total >= this.#limits.maxTotal) throw SERVER_FULL;
    this.#perClient.set(client, held + 1);
    this.#total++;
    return () => {
      this.#total--;
      const left = (this.#perClient.get(client) ?? 1) - 1;
      if (left === 0) this.#perClient.delete(client);
      else this.#perClient.set(client, left);
    };
  }
}

/** Guards every event-stream route registered after this call (routes whose schema produces text/event-stream). */
export function limitEventStreams(app: FastifyInstance, limits: EventStreamLimits): EventStreamSlots {
  const slots = new EventStreamSlots(limits);
  const guard: onRequestHookHandler = (request: FastifyRequest, reply: FastifyReply, done) => {
    let release: () => void;
    try {
      release = slots.take(request.ip);
    } catch (error) {
      done(error as StampedeError);
      return;
    }
    reply.raw.once("close", release);
    done();
  };
  app.addHook("onRoute", (route) => {
    const produces = (route.schema as { produces?: readonly string[] } | undefined)?.produces;
    if (!produces?.includes("text/event-stream")) return;
    const own = route.onRequest === undefined ? [] : [route.onRequest].flat();
    // First: a refused stream costs no authentication, no subscription.
    route.onRequest = [guard, ...own];
  });
  return slots;
}
