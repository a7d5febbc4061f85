import { randomBytes } from "node:crypto";
import { StampedeError } from "../domain/errors.ts";
import type { DeliveryLedger, DeliveryRecord, WebhookConfig } from "../ports/delivery.ts";
import type { Actor } from "../ports/lifecycle-ledger.ts";
import {
  checkWebhookTarget,
  type Resolve,
  WebhookTargetError,
  type WebhookTargetPolicy,
} from "../workers/webhook/target.ts";
import type { CampaignService } from "./campaigns.ts";

/** What setting a webhook takes. */
export interface WebhookRequest {
  url: string;
  /** Generated (and shown once) when absent. */
  secret?: string | undefined;
  /** Also deliver the claims issued before the webhook was set. */
  backfill?: boolean | undefined;
}

export interface WebhookState {
  webhook: Pick<WebhookConfig, "url" | "updatedAt"> | null;
  deadDeliveries: number;
}

export interface WebhookSet extends WebhookState {
  /** Only when stampede generated it. */
  secret?: string;
  /** Deliveries added for earlier claims (backfill). */
  backfilled?: number;
}

export interface DeliveryServicePorts {
  deliveries: DeliveryLedger;
  campaigns: CampaignService;
  now?: (() => number) | undefined;
  /** WEBHOOK_ALLOW_PRIVATE: webhook URLs may point at loopback, private and link-local addresses. */
  allowPrivateTargets?: boolean | undefined;
  /** How the webhook's host name is resolved when it is set (tests pass their own). */
  resolve?: Resolve | undefined;
}

/**
 * A campaign's webhook and its dead-letter list (docs/lifecycle.md). The
 * secret is write-only: shown once when stampede generates it, never read
 * back. Every change is recorded in the audit trail with the change itself.
 */
export class DeliveryService {
  readonly #store: DeliveryLedger;
  readonly #campaigns: CampaignService;
  readonly #now: () => number;
  readonly #policy: WebhookTargetPolicy;
  readonly #resolve: Resolve | undefined;

  constructor(ports: DeliveryServicePorts) {
    this.#store = ports.deliveries;
    this.#campaigns = ports.campaigns;
    this.#now = ports.now ?? Date.now;
    this.#policy = { allowPrivate: ports.allowPrivateTargets ?? false };
    this.#resolve = ports.resolve;
  }

  /**
   * Throws campaign_not_found; invalid_request for a url that is not http(s),
   * or whose host does not resolve, or resolves to an address that is not
   * public (unless WEBHOOK_ALLOW_PRIVATE); unavailable when DNS does not answer.
   */
  async setWebhook(campaignId: string, request: WebhookRequest, actor: Actor): Promise<WebhookSet> {
    await this.#campaigns.requireInLedger(campaignId);
    const url = await this.#checkedUrl(request.url);
    const backfill = request.backfill ?? false;
    const generated = request.secret === undefined;
    const secret = request.secret ?? randomBytes(24).toString("base64url");
    const at = this.#now();
    const backfilled = await this.#store.setWebhook(
      campaignId,
      { url, secret, updatedAt: at },
      {
        ...actor,
        campaignId,
        at,
        action: "webhook_set",
        details: { url, secretGenerated: generated, backfill },
      },
      backfill,
    );
    return {
      ...(await this.#state(campaignId)),
      ...(generated ? { secret } : {}),
      ...(backfill ? { backfilled } : {}),
    };
  }

  /** The webhook (without its secret) and the dead-letter count; throws campaign_not_found. */
  async webhook(campaignId: string): Promise<WebhookState> {
    await this.#campaigns.requireInLedger(campaignId);
    return this.#state(campaignId);
  }

  /** Deliveries not yet made wait, parked, until a webhook is set again. */
  async removeWebhook(campaignId: string, actor: Actor): Promise<WebhookState> {
    await this.#campaigns.requireInLedger(campaignId);
    await this.#store.setWebhook(
      campaignId,
      null,
      { ...actor, campaignId, at: this.#now(), action: "webhook_removed", details: {} },
      false,
    );
    return this.#state(campaignId);
  }

  /** Dead deliveries in claim id order after the claim id `after` ("" from the start). */
  async deadDeliveries(campaignId: string, after: string, limit: number): Promise<DeliveryRecord[]> {
    await this.#campaigns.requireInLedger(campaignId);
    return this.#store.listDead(campaignId, after, limit);
  }

  /**
   * Sends dead deliveries again, the given ones or every one of the campaign
   * (attempts from 0, due now). Throws invalid_request without a webhook.
   */
  async replayDead(
    campaignId: string,
    deliveryIds: readonly string[] | undefined,
    actor: Actor,
  ): Promise<number> {
    await this.#campaigns.requireInLedger(campaignId);
    if (!(await this.#store.getWebhook(campaignId)))
      throw new StampedeError("invalid_request", "The campaign has no webhook to send the deliveries to.");
    const at = this.#now();
    return this.#store.replayDead(campaignId, deliveryIds, at, {
      ...actor,
      campaignId,
      at,
      action: "deliveries_replayed",
      details: deliveryIds === undefined ? { all: true } : { deliveryIds: deliveryIds.length },
    });
  }

  async #checkedUrl(raw: string): Promise<string> {
    const url = webhookUrl(raw);
    try {
      await checkWebhookTarget(url, this.#policy, this.#resolve);
    } catch (error) {
      if (error instanceof WebhookTargetError)
        throw new StampedeError("invalid_request", `url is refused: ${error.message}.`);
      throw new StampedeError("unavailable", "The webhook's host name could not be resolved now; retry.", {
        retryAfter: 1,
        cause: error,
      });
    }
    return url.href;
  }

  async #state(campaignId: string): Promise<WebhookState> {
    const webhook = await this.#store.getWebhook(campaignId);
    return {
      webhook: webhook ? { url: webhook.url, updatedAt: webhook.updatedAt } : null,
      deadDeliveries: await this.#store.deadCount(campaignId),
    };
  }
}

function webhookUrl(raw: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new StampedeError("invalid_request", "url is not a URL.");
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:")
    throw new StampedeError("invalid_request", "url must be http or https.");
  return parsed;
}
