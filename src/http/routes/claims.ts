import type { FastifyInstance } from "fastify";
import { type Claim, isFinal } from "../../domain/types.ts";
import { type ClaimService, claimStage } from "../../services/claims.ts";
import type { UserAuth } from "../plugins/auth.ts";
import { COMMON_ERRORS, errorResponses } from "../plugins/openapi.ts";
import { keepIfInTime } from "../plugins/request-timeout.ts";
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
  /** Milliseconds between SSE heartbeat comments (15 s by contract; tests shorten it). */
  sseHeartbeatMs: number;
}

export function registerClaimRoutes(
  app: FastifyInstance,
  claims: ClaimService,
  options: ClaimRouteOptions,
): void {
  const { auth } = options;

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
      const claim = await claims.claim({
        campaignId: request.params.id,
        userId,
        clientIp: request.ip,
        idempotencyKey: request.headers["idempotency-key"],
      });
      // Returned, not sent: an answer that comes after the deadline's 503 is dropped (request-timeout.ts).
      reply.code(202);
      return claimBody(claim);
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
          "`event: status` with the claim at once, then again each time it changes; the stream ends after " +
          "issued (with holds: issued, expired or released). A comment line every 15 s keeps proxies from closing it.",
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
      // A watch that starts after the deadline answered is stopped at once.
      const watched = keepIfInTime(request, await claims.watch(request.params.claimId), (late) =>
        late.stop(),
      );
      try {
        auth.assertReader(request, watched.current.userId);
      } catch (error) {
        watched.stop();
        throw error;
      }
      // A change can be heard after a later one was read (the worker writes a
      // hold's pending snapshot late): never step back. The stage is taken
      // when sent, as a store may change the claim object it handed out.
      let sentStage = -1;
      streamStatus(request, reply, watched, {
        heartbeatMs: options.sseHeartbeatMs,
        present: (claim: Claim) => {
          sentStage = claimStage(claim);
          return claimBody(claim);
        },
        isFinal: (claim: Claim) => isFinal(claim.status),
        isStale: (claim: Claim) => claimStage(claim) <= sentStage,
      });
    },
  );

  const holdRoute = (action: "confirm" | "release", summary: string, description: string) =>
    app.post<{ Params: { claimId: string } }>(
      `/v1/claims/:claimId/${action}`,
      {
        onRequest: auth.adminOrAnyUser,
        schema: {
          summary,
          description,
          tags: ["claims"],
          security: [{ admin: [] }, { user: [] }],
          params: claimParams,
          response: {
            200: { $ref: "Claim#" },
            ...errorResponses(
              ...COMMON_ERRORS,
              "unauthorized",
              "forbidden",
              "claim_not_found",
              "hold_expired",
              ...(action === "release" ? (["already_confirmed"] as const) : []),
            ),
          },
        },
      },
      async (request) => {
        const { claimId } = request.params;
        const authorize = (claim: Claim) => auth.assertReader(request, claim.userId);
        return claimBody(await claims[action](claimId, authorize));
      },
    );
  holdRoute(
    "confirm",
    "Confirm a hold (admin, or the claim's user's token)",
    "200 with the claim, issued, once the confirmation is as durable as a 202; a repeat answers the same. " +
      "410 hold_expired when the hold expired or was released first; 400 invalid_request for a claim of a " +
      "campaign without holds.",
  );
  holdRoute(
    "release",
    "Release a hold (admin, or the claim's user's token)",
    "200 with the claim, released: its unit is back in the stock at once; a repeat answers the same. " +
      "409 already_confirmed for a confirmed hold; 410 hold_expired when it expired first; 400 " +
      "invalid_request for a claim of a campaign without holds.",
  );
}
