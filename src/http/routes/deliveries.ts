import type { FastifyInstance } from "fastify";
import type { DeliveryService, WebhookRequest } from "../../services/deliveries.ts";
import type { Guard } from "../plugins/auth.ts";
import { COMMON_ERRORS, errorResponses } from "../plugins/openapi.ts";
import { deliveryBody, webhookBody } from "../present.ts";
import { actorOf, pageLimit } from "../request.ts";
import { campaignParams } from "../schemas/contract.ts";
import {
  actorHeaders,
  deadPageSchema,
  deadQuery,
  replayRequest,
  webhookRequest,
  webhookSchema,
} from "../schemas/lifecycle.ts";

/** Webhook configuration and the dead-letter list (admin, docs/lifecycle.md). */
export function registerDeliveryRoutes(
  app: FastifyInstance,
  deliveries: DeliveryService,
  admin: Guard,
): void {
  const common = {
    tags: ["delivery"],
    security: [{ admin: [] }],
    params: campaignParams,
  };

  app.put<{ Params: { id: string }; Body: WebhookRequest }>(
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
        body: webhookRequest,
        response: {
          200: webhookSchema,
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
    async (request) =>
      webhookBody(await deliveries.setWebhook(request.params.id, request.body, actorOf(request))),
  );

  app.get<{ Params: { id: string } }>(
    "/v1/campaigns/:id/webhook",
    {
      onRequest: admin,
      schema: {
        ...common,
        summary: "The campaign's webhook (without its secret) and its dead-letter count (admin)",
        response: {
          200: webhookSchema,
          ...errorResponses(...COMMON_ERRORS, "unauthorized", "campaign_not_found"),
        },
      },
    },
    async (request) => webhookBody(await deliveries.webhook(request.params.id)),
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
          200: webhookSchema,
          ...errorResponses(...COMMON_ERRORS, "unauthorized", "campaign_not_found"),
        },
      },
    },
    async (request) => webhookBody(await deliveries.removeWebhook(request.params.id, actorOf(request))),
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
          200: deadPageSchema,
          ...errorResponses(...COMMON_ERRORS, "unauthorized", "campaign_not_found"),
        },
      },
    },
    async (request) => {
      const limit = pageLimit(request.query.limit);
      const dead = await deliveries.deadDeliveries(request.params.id, request.query.after ?? "", limit);
      return {
        deliveries: dead.map(deliveryBody),
        next: dead.length === limit ? dead.at(-1)!.claimId : null,
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
        body: replayRequest,
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
    async (request) => ({
      replayed: await deliveries.replayDead(request.params.id, request.body?.deliveryIds, actorOf(request)),
    }),
  );
}
