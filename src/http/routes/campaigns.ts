import type { FastifyInstance } from "fastify";
import { StampedeError } from "../../domain/errors.ts";
import { newCampaignId } from "../../domain/ids.ts";
import type { Campaign } from "../../domain/types.ts";
import type { Guard } from "../auth.ts";
import type { ApiDeps } from "../deps.ts";
import { COMMON_ERRORS, errorResponses } from "../openapi.ts";
import { campaignBody } from "../present.ts";
import { campaignParams, createCampaignBody } from "../schemas.ts";

interface CreateCampaign {
  id?: string;
  name: string;
  stock: number;
  perUserLimit?: number;
  startsAt?: string;
  endsAt?: string;
}

export function registerCampaignRoutes(app: FastifyInstance, deps: ApiDeps, admin: Guard): void {
  const now = deps.now ?? Date.now;

  const present = async (campaign: Campaign) => {
    const counters = (await deps.admission.counters(campaign.id)) ?? { admitted: 0, issued: 0 };
    return campaignBody(campaign, counters, now());
  };

  app.post<{ Body: CreateCampaign }>(
    "/v1/campaigns",
    {
      onRequest: admin,
      schema: {
        summary: "Create a campaign (admin)",
        tags: ["campaigns"],
        security: [{ admin: [] }],
        body: createCampaignBody,
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
      const body = request.body;
      const startsAt = body.startsAt === undefined ? null : Date.parse(body.startsAt);
      const endsAt = body.endsAt === undefined ? null : Date.parse(body.endsAt);
      if (startsAt !== null && endsAt !== null && endsAt <= startsAt)
        throw new StampedeError("invalid_request", "endsAt must be after startsAt.");
      const campaign: Campaign = {
        id: body.id ?? newCampaignId(),
        name: body.name,
        stock: body.stock,
        perUserLimit: body.perUserLimit ?? 1,
        startsAt,
        endsAt,
        createdAt: now(),
      };
      // The ledger is the truth and decides whether the id is taken; only
      // then does admission learn of the campaign.
      if (!(await deps.ledger.createCampaign(campaign))) throw new StampedeError("campaign_exists");
      await deps.admission.putCampaign(campaign);
      return reply.code(201).send(await present(campaign));
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
    async () => {
      const campaigns = await deps.admission.listCampaigns();
      return { campaigns: await Promise.all(campaigns.map(present)) };
    },
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
    async (request) => {
      const campaign = await deps.admission.getCampaign(request.params.id);
      if (!campaign) throw new StampedeError("campaign_not_found");
      return present(campaign);
    },
  );
}
