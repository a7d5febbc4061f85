import { randomBytes } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { StampedeError } from "../../domain/errors.ts";
import type { DeliveryLedger, DeliveryRecord } from "../../ports/delivery.ts";
import { actorOf } from "../actor.ts";
import type { Guard } from "../auth.ts";
import type { ApiDeps } from "../deps.ts";
import {
  actorHeaders,
  deadPage,
  deadQuery,
  replayBody,
  webhookBody,
  webhookState,
} from "../lifecycle-schemas.ts";
import { COMMON_ERRORS, errorResponses } from "../openapi.ts";
import { campaignParams } from "../schemas.ts";
import { pageLimit } from "./lifecycle.ts";

/**
 * Webhook configuration and the dead-letter list (admin, docs/lifecycle.md).
 * The secret is write-only: shown once when stampede generates it, never read
 * back.
 */
interface WebhookBody {
  url: string;
  secret?: string;
  backfill?: boolean;
}

const iso = (ms: number) => new Date(ms).toISOString();

export function registerDeliveryRoutes(app: FastifyInstance, deps: ApiDeps, admin: Guard): void {
  const lifecycle = deps.lifecycle;
  if (!lifecycle) return;
  const store: DeliveryLedger = lifecycle.deliveries;
  const now = deps.now ?? Date.now;

  const campaignMustExist = async (id: string) => {
    if (!(await deps.ledger.getCampaign(id))) throw new StampedeError("campaign_not_found");
  };
  const state = async (id: string) => {
    const webhook = await store.getWebhook(id);
    return {
      webhook: webhook ? { url: webhook.url, updatedAt: iso(webhook.updatedAt) } : null,
      deadDeliveries: await store.deadCount(id),
    };
  };
  const common = {
    tags: ["delivery"],
    security: [{ admin: [] }],
    params: campaignParams,
  };

  app.put<{ Params: { id: string }; Body: WebhookBody }>(
    "/v1/campaigns/:id/webhook",
    {
      onRequest: admin,
      schema: {
        ...common,
        summary: "Set the campaign's webhook (admin)",
        description:
          "Every claim issued from now on is POSTed to `url` as JSON, signed: `Stampede-Signature: " +
          "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + '.' + raw body)>`, with `Stampede-Delivery-Id` " +
          "(the same on every retry: deduplicate by it). Retried with exponential backoff until a 2xx, then " +
          "dead-lettered. `backfill: true` also delivers the claims issued before.",
        headers: actorHeaders,
        body: webhookBody,
        response: {
          200: webhookState,
          ...errorResponses(
            ...COMMON_ERRORS,
            "unauthorized",
            "campaign_not_found",
            "payload_too_large",
            "unsupported_media_type",
          ),
        },
      },
    },
    async (request) => {
      const { id } = request.params;
      const { url, backfill = false } = request.body;
      await campaignMustExist(id);
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        throw new StampedeError("invalid_request", "url is not a URL.");
      }
      if (parsed.protocol !== "http:" && parsed.protocol !== "https:")
        throw new StampedeError("invalid_request", "url must be http or https.");
      const generated = request.body.secret === undefined;
      const secret = request.body.secret ?? randomBytes(24).toString("base64url");
      const at = now();
      const backfilled = await store.setWebhook(
        id,
        { url: parsed.href, secret, updatedAt: at },
        {
          ...actorOf(request),
          campaignId: id,
          at,
          action: "webhook_set",
          details: { url: parsed.href, secretGenerated: generated, backfill },
        },
        backfill,
      );
      return {
        ...(await state(id)),
        ...(generated ? { secret } : {}),
        ...(backfill ? { backfilled } : {}),
      };
    },
  );

  app.get<{ Params: { id: string } }>(
    "/v1/campaigns/:id/webhook",
    {
      onRequest: admin,
      schema: {
        ...common,
        summary: "The campaign's webhook (without its secret) and its dead-letter count (admin)",
        response: {
          200: webhookState,
          ...errorResponses(...COMMON_ERRORS, "unauthorized", "campaign_not_found"),
        },
      },
    },
    async (request) => {
      await campaignMustExist(request.params.id);
      return state(request.params.id);
    },
  );

  app.delete<{ Params: { id: string } }>(
    "/v1/campaigns/:id/webhook",
    {
      onRequest: admin,
      schema: {
        ...common,
        summary: "Remove the campaign's webhook (admin)",
        description:
          "Deliveries not yet made wait, parked, until a webhook is set again; claims issued meanwhile " +
          "get none (set it again with backfill: true to catch up).",
        headers: actorHeaders,
        response: {
          200: webhookState,
          ...errorResponses(...COMMON_ERRORS, "unauthorized", "campaign_not_found"),
        },
      },
    },
    async (request) => {
      const { id } = request.params;
      await campaignMustExist(id);
      await store.setWebhook(
        id,
        null,
        { ...actorOf(request), campaignId: id, at: now(), action: "webhook_removed", details: {} },
        false,
      );
      return state(id);
    },
  );

  app.get<{ Params: { id: string }; Querystring: { after?: string; limit?: string } }>(
    "/v1/campaigns/:id/deliveries/dead",
    {
      onRequest: admin,
      schema: {
        ...common,
        summary: "The dead-letter list: deliveries that failed every attempt (admin)",
        querystring: deadQuery,
        response: {
          200: deadPage,
          ...errorResponses(...COMMON_ERRORS, "unauthorized", "campaign_not_found"),
        },
      },
    },
    async (request) => {
      const { id } = request.params;
      await campaignMustExist(id);
      const limit = pageLimit(request.query.limit);
      const page = await store.listDead(id, request.query.after ?? "", limit);
      return {
        deliveries: page.map(presentDelivery),
        next: page.length === limit ? page.at(-1)!.claimId : null,
      };
    },
  );

  app.post<{ Params: { id: string }; Body: { deliveryIds?: string[] } | undefined }>(
    "/v1/campaigns/:id/deliveries/dead/replay",
    {
      onRequest: admin,
      // No body at all means "all of them", like {}.
      preValidation: async (request) => {
        request.body ??= {};
      },
      schema: {
        ...common,
        summary: "Send dead deliveries again (admin)",
        description:
          "The given deliveries, or every dead one of the campaign, start over (attempts from 0, due now), " +
          "with the same delivery ids. Needs a webhook.",
        headers: actorHeaders,
        body: replayBody,
        response: {
          200: { type: "object", required: ["replayed"], properties: { replayed: { type: "integer" } } },
          ...errorResponses(
            ...COMMON_ERRORS,
            "unauthorized",
            "campaign_not_found",
            "payload_too_large",
            "unsupported_media_type",
          ),
        },
      },
    },
    async (request) => {
      const { id } = request.params;
      await campaignMustExist(id);
      if (!(await store.getWebhook(id)))
        throw new StampedeError("invalid_request", "The campaign has no webhook to send the deliveries to.");
      const at = now();
      const ids = request.body?.deliveryIds;
      const replayed = await store.replayDead(id, ids, at, {
        ...actorOf(request),
        campaignId: id,
        at,
        action: "deliveries_replayed",
        details: ids === undefined ? { all: true } : { deliveryIds: ids.length },
      });
      return { replayed };
    },
  );
}

const presentDelivery = (d: DeliveryRecord) => ({
  deliveryId: d.deliveryId,
  claimId: d.claimId,
  attempts: d.attempts,
  lastError: d.lastError,
  createdAt: iso(d.createdAt),
});
