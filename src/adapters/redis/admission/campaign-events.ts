import type { Logger } from "pino";
import type { RedisClient } from "../connection.ts";
import { isCluster } from "../nodes.ts";

/**
 * The campaign events channel (RedisKeys.campaignEventsChannel): how every API
 * process learns at once what changed elsewhere about a campaign, so that
 * what it answers from memory (memory-answers.ts) follows. A message is
 * "<kind> <campaignId>" (campaign ids hold no spaces):
 *
 * - sold_out: the last unit was taken (admit-9.lua publishes it in the same
 *   atomic step); processes load a snapshot and answer 410 from memory.
 * - hold: a change that may let claims in again is on hold (lifecycle.ts);
 *   processes drop what they remembered.
 * - changed: a lifecycle change was applied; processes drop what they
 *   remembered and the definition, and load a snapshot (a pause or a close
 *   is answered from memory too).
 * - forgot: a user was erased (erasure.ts); holders are dropped.
 * - rebuilding: the state is being rebuilt from the ledger (rebuild.ts).
 * - returned: holds ended (expired or released) and gave units back
 *   (holds.lua); for listeners that wait for stock. What API processes
 *   answer from memory needs nothing from it: a campaign with holds is
 *   never answered 410 from memory. Older processes ignore the kind.
 *
 * Pub/sub delivers at most once: a process that was disconnected may miss a
 * message. Safety never depends on one (every memory answer is a lease that
 * runs out on its own), and after a reconnect a process forgets everything it
 * remembered. Publishing is best effort for the same reason. On a Redis
 * Cluster, PUBLISH reaches every node; a cluster client whose subscribed node
 * is lost subscribes on another without a "ready": a lost node counts as a
 * reconnect (at once, and again once the subscription had time to move).
 */
/** How long a cluster client takes to subscribe on another node, about (as notifier.ts). */
const RESUBSCRIBE_MS = 1000;

export type CampaignEventKind = "sold_out" | "hold" | "changed" | "forgot" | "rebuilding" | "returned";

const KINDS = new Set<string>(["sold_out", "hold", "changed", "forgot", "rebuilding", "returned"]);

export interface CampaignEventsOptions {
  /** Publishes (any command connection). */
  publisher: RedisClient;
  channel: string;
  logger: Logger;
}

export interface Subscription {
  /** Any connection dedicated to subscriptions (the notifier's does: it filters by channel). */
  subscriber: RedisClient;
  onEvent: (kind: CampaignEventKind, campaignId: string) => void;
  /** The subscription was (re)established: messages may have been missed. */
  onResubscribed: () => void;
}

export class CampaignEvents {
  readonly #o: CampaignEventsOptions;
  #unsubscribe: (() => void) | undefined;

  constructor(options: CampaignEventsOptions) {
    this.#o = options;
  }

  get channel(): string {
    return this.#o.channel;
  }

  publish(kind: CampaignEventKind, campaignId: string): Promise<void> {
    return this.#o.publisher.publish(this.#o.channel, `${kind} ${campaignId}`).then(
      () => undefined,
      (error: unknown) =>
        this.#o.logger.debug(
          { err: error, campaignId, kind },
          "campaign event not published (leases cover it)",
        ),
    );
  }

  /** Listens on the channel until close(); resolves once the subscription is live. */
  async subscribe(subscription: Subscription): Promise<void> {
    const { subscriber, onEvent, onResubscribed } = subscription;
    const channel = this.#o.channel;
    const onMessage = (from: string, message: string) => {
      if (from !== channel) return;
      const space = message.indexOf(" ");
      const kind = message.slice(0, space);
      if (space > 0 && KINDS.has(kind)) onEvent(kind as CampaignEventKind, message.slice(space + 1));
    };
    // ioredis subscribes again by itself after a reconnect; what was published meanwhile is lost.
    const onReady = () => onResubscribed();
    const onNodeLost = () => {
      onResubscribed();
      setTimeout(onResubscribed, RESUBSCRIBE_MS).unref();
    };
    subscriber.on("message", onMessage);
    subscriber.on("ready", onReady);
    if (isCluster(subscriber)) subscriber.on("-node", onNodeLost);
    this.#unsubscribe = () => {
      subscriber.off("message", onMessage);
      subscriber.off("ready", onReady);
      subscriber.off("-node", onNodeLost);
      void subscriber.unsubscribe(channel).catch(() => undefined);
    };
    await subscriber.subscribe(channel);
    onResubscribed();
  }

  close(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
  }
}
