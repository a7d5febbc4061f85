import type { Logger } from "pino";
import type { Claim } from "../../domain/types.ts";
import type { ClaimListener, Notifier } from "../../ports/notifier.ts";
import { ClaimWatchers } from "../claim-watchers.ts";
import type { RedisClient } from "./connection.ts";
import { isCluster } from "./nodes.ts";

/**
 * Notifier over Redis pub/sub: workers publish issued claims on one channel,
 * every API process subscribes once and hands each claim to the SSE streams
 * waiting for it here. subscribe() resolves only once the channel
 * subscription is live, so a status read after it cannot miss the event.
 * Messages published while the subscriber was reconnecting are lost by
 * pub/sub's nature: after each resubscription the claims still awaited here
 * are read again (`recheck`).
 */
export interface RedisNotifierOptions {
  /** Publishes (any command connection). */
  publisher: RedisClient;
  /** A connection of its own: a subscribed connection can do nothing else. */
  subscriber: RedisClient;
  channel: string;
  logger: Logger;
  /** Reads the current state of these claims (after a reconnect); issued ones are delivered. */
  recheck?: (claimIds: string[]) => Promise<Claim[]>;
}

const MESSAGE_VERSION = 1;
/** How long a cluster client takes to subscribe on another node, about. */
const RESUBSCRIBE_MS = 1000;
const CLAIMS_PER_MESSAGE = 500;

export class RedisNotifier implements Notifier {
  readonly #o: RedisNotifierOptions;
  readonly #watchers = new ClaimWatchers();
  #live: Promise<unknown> | undefined;

  constructor(options: RedisNotifierOptions) {
    this.#o = options;
    options.subscriber.on("message", (channel: string, message: string) => {
      if (channel === options.channel) this.#deliver(message);
    });
    // ioredis subscribes again by itself after a reconnect; confirm it, then catch up.
    options.subscriber.on("ready", () => {
      if (this.#live === undefined) return;
      this.#live = options.subscriber.subscribe(options.channel);
      void this.#live.then(() => this.#recheck()).catch(() => undefined);
    });
    // A cluster client moves its subscription to another node when its node is lost, without
    // a "ready": catch up once it had time to (messages published meanwhile are lost).
    if (isCluster(options.subscriber))
      options.subscriber.on("-node", () => {
        if (this.#live !== undefined) setTimeout(() => void this.#recheck(), RESUBSCRIBE_MS).unref();
      });
  }

  async publish(claims: readonly Claim[]): Promise<void> {
    for (let i = 0; i < claims.length; i += CLAIMS_PER_MESSAGE) {
      const message = JSON.stringify({ v: MESSAGE_VERSION, claims: claims.slice(i, i + CLAIMS_PER_MESSAGE) });
      await this.#o.publisher.publish(this.#o.channel, message);
    }
  }

  async subscribe(claimId: string, listener: ClaimListener): Promise<() => void> {
    this.#live ??= this.#o.subscriber.subscribe(this.#o.channel);
    try {
      await this.#live;
    } catch (error) {
      this.#live = undefined;
      throw error;
    }
    return this.#watchers.add(claimId, listener);
  }

  #deliver(message: string): void {
    let claims: Claim[];
    try {
      const parsed = JSON.parse(message) as { v: number; claims: Claim[] };
      if (parsed.v !== MESSAGE_VERSION) return;
      claims = parsed.claims;
    } catch {
      return;
    }
    for (const claim of claims) this.#watchers.emit(claim);
  }

  async #recheck(): Promise<void> {
    const ids = this.#watchers.ids();
    if (ids.length === 0 || !this.#o.recheck) return;
    try {
      for (const claim of await this.#o.recheck(ids))
        if (claim.status === "issued") this.#watchers.emit(claim);
    } catch (error) {
      this.#o.logger.warn({ err: error }, "could not re-read awaited claims after a reconnect");
    }
  }

  async close(): Promise<void> {
    this.#watchers.clear();
  }
}
