import type { FastifyInstance } from "fastify";
import type { CampaignService } from "../../services/campaigns.ts";
import type { Guard } from "../plugins/auth.ts";
import { COMMON_ERRORS, errorResponses } from "../plugins/openapi.ts";
import { campaignBody } from "../present.ts";
import { campaignParams, createCampaignRequest } from "../schemas/contract.ts";

interface CreateCampaign {
  id?: string;
  name: string;
  stock: number;
  perUserLimit?: number;
  startsAt?: string;
  endsAt?: string;
  holdSeconds?: number;
  shards?: number;
  waitingRoom?: { prequeueSeconds: number; releasePerSecond?: number };
}

const epochMs = (rfc3339: string | undefined) => (rfc3339 === undefined ? null : Date.parse(rfc3339));

export function registerCampaignRoutes(app: FastifyInstance, campaigns: CampaignService, admin: Guard): void {
  app.post<{ Body: CreateCampaign }>(
    "/v1/campaigns",
    {
      onRequest: admin,
      schema: {
        summary: "Create a campaign (admin)",
        tags: ["campaigns"],
        security: [{ admin: [] }],
        body: createCampaignRequest,
        response: {
          201: { $ref: "Campaign#" },
          ...errorResponses(
            ...COMMON_ERRORS,
            "unauthorized",
            "campaign_exists",
            "payload_too_large",
            "unsupported_media_type",
          ),
        },
      },
    },
    async (request, reply) => {
      const { startsAt, endsAt, ...rest } = request.body;
      const created = await campaigns.create({
        ...rest,
        startsAt: epochMs(startsAt),
        endsAt: epochMs(endsAt),
      });
      reply.code(201);
      return campaignBody(created);
    },
  );

  app.get(
    "/v1/campaigns",
    {
      onRequest: admin,
      schema: {
        summary: "List campaigns (admin)",
        tags: ["campaigns"],
        security: [{ admin: [] }],
        response: {
          200: {
            type: "object",
            required: ["campaigns"],
            properties: { campaigns: { type: "array", items: { $ref: "Campaign#" } } },
          },
          ...errorResponses(...COMMON_ERRORS, "unauthorized"),
        },
      },
    },
    async () => ({ campaigns: (await campaigns.list()).map(campaignBody) }),
  );

  app.get<{ Params: { id: string } }>(
    "/v1/campaigns/:id",
    {
      schema: {
        summary: "Read a campaign and its live counters (public)",
        tags: ["campaigns"],
        params: campaignParams,
        response: {
          200: { $ref: "Campaign#" },
          ...errorResponses(...COMMON_ERRORS, "campaign_not_found"),
        },
      },
    },
    async (request) => campaignBody(await campaigns.get(request.params.id)),
  );
}
