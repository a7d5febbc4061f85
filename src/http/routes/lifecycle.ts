import type { FastifyInstance } from "fastify";
import type { ErasureService } from "../../services/erasure.ts";
import type { LifecycleService } from "../../services/lifecycle.ts";
import type { Guard } from "../plugins/auth.ts";
import { COMMON_ERRORS, errorResponses } from "../plugins/openapi.ts";
import { auditBody, campaignBody } from "../present.ts";
import { actorOf, pageLimit } from "../request.ts";
import { campaignParams, userClaimsParams } from "../schemas/contract.ts";
import {
  actorHeaders,
  auditPageSchema,
  auditQuery,
  erasureSchema,
  patchCampaignRequest,
} from "../schemas/lifecycle.ts";

interface PatchBody {
  status?: "open" | "paused";
  stock?: number;
  endsAt?: string | null;
}

/**
 * Lifecycle routes (admin, docs/lifecycle.md): pause / resume, stock and
 * endsAt during a live drop, close, the audit trail, and erasure.
 */
export function registerLifecycleRoutes(
  app: FastifyInstance,
  services: { lifecycle: LifecycleService; erasure: ErasureService },
  admin: Guard,
): void {
  const { lifecycle, erasure } = services;

  app.patch<{ Params: { id: string }; Body: PatchBody }>(
    "/v1/campaigns/:id",
    {
      onRequest: admin,
      schema: {
        summary: "Pause / resume, change stock or endsAt during a drop (admin)",
        description:
          "Applied atomically with admission and recorded in the audit trail with X-Actor, the request id " +
          "and the client address. stock may go up at any time, and down to the units already admitted " +
          "(400 invalid_request with `admitted` below that). A closed campaign cannot change (403 " +
          "campaign_not_active, reason closed).",
        tags: ["lifecycle"],
        security: [{ admin: [] }],
        params: campaignParams,
        headers: actorHeaders,
        body: patchCampaignRequest,
        response: {
          200: { $ref: "Campaign#" },
          ...errorResponses(
            ...COMMON_ERRORS,
            "unauthorized",
            "campaign_not_found",
            "campaign_not_active",
            "payload_too_large",
            "unsupported_media_type",
          ),
        },
      },
    },
    async (request) => {
      const { status, stock, endsAt } = request.body;
      const patch = {
        status,
        stock,
        endsAt: endsAt === undefined || endsAt === null ? endsAt : Date.parse(endsAt),
      };
      return campaignBody(await lifecycle.update(request.params.id, patch, actorOf(request)));
    },
  );

  app.post<{ Params: { id: string } }>(
    "/v1/campaigns/:id/close",
    {
      onRequest: admin,
      schema: {
        summary: "End a campaign now, for good (admin)",
        description:
          "Claims are answered 403 campaign_not_active (reason closed) from now on; claims admitted before " +
          "are still issued. Closing a closed campaign answers it unchanged.",
        tags: ["lifecycle"],
        security: [{ admin: [] }],
        params: campaignParams,
        headers: actorHeaders,
        response: {
          200: { $ref: "Campaign#" },
          ...errorResponses(...COMMON_ERRORS, "unauthorized", "campaign_not_found"),
        },
      },
    },
    async (request) => campaignBody(await lifecycle.close(request.params.id, actorOf(request))),
  );

  app.get<{ Params: { id: string }; Querystring: { after?: string; limit?: string } }>(
    "/v1/campaigns/:id/audit",
    {
      onRequest: admin,
      schema: {
        summary: "The campaign's audit trail: who changed what, when (admin)",
        tags: ["lifecycle"],
        security: [{ admin: [] }],
        params: campaignParams,
        querystring: auditQuery,
        response: {
          200: auditPageSchema,
          ...errorResponses(...COMMON_ERRORS, "unauthorized", "campaign_not_found"),
        },
      },
    },
    async (request) => {
      const limit = pageLimit(request.query.limit);
      const entries = await lifecycle.auditLog(request.params.id, Number(request.query.after ?? 0), limit);
      return {
        entries: entries.map(auditBody),
        next: entries.length === limit ? String(entries.at(-1)!.id) : null,
      };
    },
  );

  app.delete<{ Params: { id: string; userId: string } }>(
    "/v1/campaigns/:id/users/:userId/claims",
    {
      onRequest: admin,
      schema: {
        summary: "Erase a user's claims from a campaign (admin)",
        description:
          "The user's claims stay in the ledger, anonymised: their units stay consumed, the userId and " +
          "Idempotency-Keys are gone, undelivered webhook deliveries are dropped. The user is forgotten: " +
          "while the campaign still takes claims they may claim again. 503 while one of their claims is " +
          "still being issued (retry).",
        tags: ["lifecycle"],
        security: [{ admin: [] }],
        params: userClaimsParams,
        headers: actorHeaders,
        response: {
          200: erasureSchema,
          ...errorResponses(...COMMON_ERRORS, "unauthorized", "campaign_not_found"),
        },
      },
    },
    async (request) => erasure.erase(request.params.id, request.params.userId, actorOf(request)),
  );
}
