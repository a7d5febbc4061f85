import type { FastifyInstance } from "fastify";
import type { Claim } from "../../domain/types.ts";
import type { ClaimService } from "../../services/claims.ts";
import type { UserAuth } from "../plugins/auth.ts";
import { COMMON_ERRORS, errorResponses } from "../plugins/openapi.ts";
import type { Deadline } from "../plugins/request-timeout.ts";
import { streamStatus } from "../plugins/sse.ts";
import { claimBody } from "../present.ts";
import {
  campaignParams,
  claimParams,
  claimRequest,
  idempotencyHeaders,
  userClaimsParams,
} from "../schemas/contract.ts";

export interface ClaimRouteOptions {
  auth: UserAuth;
  within: Deadline;
  /** Milliseconds between SSE heartbeat comments (15 s by contract; tests shorten it). */
  sseHeartbeatMs: number;
}

export function registerClaimRoutes(
  app: FastifyInstance,
  claims: ClaimService,
  options: ClaimRouteOptions,
): void {
  const { auth, within } = options;

  app.post<{ Params: { id: string }; Body: { userId: string }; Headers: { "idempotency-key"?: string } }>(
    "/v1/campaigns/:id/claims",
    {
      bodyLimit: 16 * 1024,
      onRequest: auth.requireUser,
      schema: {
        summary: "Claim one unit for a user",
        description:
          "Checks run in this order and the first that fails decides: 400/413/415, 404, 429, 409, 403, 410; else 202. " +
          "A repeat with the same Idempotency-Key answers what the first request was answered. " +
          "With USER_TOKEN_SECRET set, the user's token is required first: 401 without a valid one, 403 for another user's.",
        tags: ["claims"],
        security: [{}, { user: [] }],
        params: campaignParams,
        headers: idempotencyHeaders,
        body: claimRequest,
        response: {
          202: { $ref: "Claim#" },
          ...errorResponses(
            ...COMMON_ERRORS,
            "payload_too_large",
            "unsupported_media_type",
            "unauthorized",
            "forbidden",
            "campaign_not_found",
            "already_claimed",
            "campaign_not_active",
            "sold_out",
          ),
        },
      },
    },
    async (request, reply) => {
      const { userId } = request.body;
      auth.assertUser(request, userId);
      const claim = await within(
        claims.claim({
          campaignId: request.params.id,
          userId,
          clientIp: request.ip,
          idempotencyKey: request.headers["idempotency-key"],
        }),
      );
      return reply.code(202).send(claimBody(claim));
    },
  );

  app.get<{ Params: { claimId: string } }>(
    "/v1/claims/:claimId",
    {
      onRequest: auth.requireReader,
      schema: {
        summary: "Read a claim",
        tags: ["claims"],
        params: claimParams,
        response: {
          200: { $ref: "Claim#" },
          ...errorResponses(...COMMON_ERRORS, "unauthorized", "forbidden", "claim_not_found"),
        },
      },
    },
    async (request) => {
      const claim = await claims.get(request.params.claimId);
      auth.assertReader(request, claim.userId);
      return claimBody(claim);
    },
  );

  app.get<{ Params: { id: string; userId: string } }>(
    "/v1/campaigns/:id/users/:userId/claims",
    {
      onRequest: auth.adminOrUser,
      schema: {
        summary: "A user's claims in a campaign (admin, or that user's token)",
        tags: ["claims"],
        security: [{ admin: [] }, { user: [] }],
        params: userClaimsParams,
        response: {
          200: {
            type: "object",
            required: ["claims"],
            properties: { claims: { type: "array", items: { $ref: "Claim#" } } },
          },
          ...errorResponses(...COMMON_ERRORS, "unauthorized", "forbidden", "campaign_not_found"),
        },
      },
    },
    async (request) => {
      const { id, userId } = request.params;
      return { claims: (await claims.userClaims(id, userId)).map(claimBody) };
    },
  );

  app.get<{ Params: { claimId: string } }>(
    "/v1/claims/:claimId/events",
    {
      onRequest: auth.requireReaderOrCookie,
      schema: {
        summary: "Watch a claim (Server-Sent Events)",
        description:
          "`event: status` with the claim at once, then again when it becomes issued; the stream ends after issued. " +
          "A comment line every 15 s keeps proxies from closing it.",
        tags: ["claims"],
        params: claimParams,
        produces: ["text/event-stream"],
        response: {
          200: {
            description: "an event stream",
            content: { "text/event-stream": { schema: { type: "string" } } },
          },
          ...errorResponses(...COMMON_ERRORS, "unauthorized", "forbidden", "claim_not_found"),
        },
      },
    },
    async (request, reply) => {
      const watched = await claims.watch(request.params.claimId);
      try {
        auth.assertReader(request, watched.current.userId);
      } catch (error) {
        watched.stop();
        throw error;
      }
      streamStatus(request, reply, watched, {
        heartbeatMs: options.sseHeartbeatMs,
        present: claimBody,
        isFinal: (claim: Claim) => claim.status === "issued",
      });
    },
  );
}
