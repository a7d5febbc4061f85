import type { FastifyInstance, FastifyReply } from "fastify";
import { StampedeError } from "../../domain/errors.ts";
import type { Claim } from "../../domain/types.ts";
import type { AdmitOutcome } from "../../ports/admission.ts";
import type { Guard } from "../auth.ts";
import type { ApiDeps } from "../deps.ts";
import { sendError } from "../errors.ts";
import { COMMON_ERRORS, errorResponses } from "../openapi.ts";
import { claimBody as presentClaim } from "../present.ts";
import { campaignParams, claimBody, claimParams, idempotencyHeaders, userClaimsParams } from "../schemas.ts";
import { withTimeout } from "../timeout.ts";
import { type UserAuth, userAuth } from "../user-auth.ts";

const NOT_ACTIVE_MESSAGES = {
  not_started: "The campaign has not started yet.",
  ended: "The campaign has ended.",
  paused: "The campaign is paused.",
  closed: "The campaign was closed.",
} as const;

export function registerClaimRoutes(app: FastifyInstance, deps: ApiDeps, admin: Guard): void {
  const timeoutMs = deps.requestTimeoutMs ?? 5000;
  const auth = userAuth(deps, admin);

  /** Reads a claim from admission state, else from the ledger (the truth, which keeps everything). */
  const findClaim = async (claimId: string): Promise<Claim | undefined> =>
    (await deps.admission.getClaim(claimId)) ?? (await deps.ledger.findClaim(claimId).catch(() => undefined));

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
        body: claimBody,
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
      const campaignId = request.params.id;
      const { userId } = request.body;
      auth.assertUser(request, userId);
      const campaign = await withTimeout(deps.admission.getCampaign(campaignId), timeoutMs);
      if (!campaign) throw new StampedeError("campaign_not_found");
      const retryAfter = await deps.rateLimiter?.check(campaignId, userId, request.ip);
      if (retryAfter !== undefined)
        throw new StampedeError("rate_limited", "Too many claims for this user; retry later.", {
          retryAfter,
        });
      const outcome = await withTimeout(
        deps.admission.admit({ campaignId, userId, idempotencyKey: request.headers["idempotency-key"] }),
        timeoutMs,
      );
      return answer(reply, outcome);
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
      const claim = await findClaim(request.params.claimId);
      if (!claim) throw new StampedeError("claim_not_found");
      auth.assertReader(request, claim.userId);
      return presentClaim(claim);
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
      if (!(await deps.admission.getCampaign(id))) throw new StampedeError("campaign_not_found");
      let claims = await deps.admission.userClaims(id, userId);
      if (claims.length === 0) claims = await deps.ledger.userClaims(id, userId);
      return { claims: claims.map(presentClaim) };
    },
  );

  registerClaimEvents(app, deps, findClaim, auth);
}

/**
 * Built once: 410 is the answer to almost every request of a sold-out spike,
 * and building an Error captures a stack trace (about 10% of the server's CPU
 * in the sold-out benchmark, BENCHMARKS.md).
 */
const SOLD_OUT = new StampedeError("sold_out");

function answer(reply: FastifyReply, outcome: AdmitOutcome) {
  switch (outcome.kind) {
    case "admitted":
      return reply.code(202).send(presentClaim(outcome.claim));
    case "already_claimed":
      throw new StampedeError("already_claimed", "This user already holds a claim in this campaign.", {
        fields: { claimId: outcome.claim.claimId, status: outcome.claim.status },
      });
    case "not_active":
      throw new StampedeError("campaign_not_active", NOT_ACTIVE_MESSAGES[outcome.reason], {
        fields: { reason: outcome.reason },
      });
    case "sold_out":
      return sendError(reply, SOLD_OUT);
    case "campaign_not_found":
      throw new StampedeError("campaign_not_found");
  }
}

function registerClaimEvents(
  app: FastifyInstance,
  deps: ApiDeps,
  findClaim: (claimId: string) => Promise<Claim | undefined>,
  auth: UserAuth,
): void {
  const heartbeatMs = deps.sseHeartbeatMs ?? 15_000;
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
      const { claimId } = request.params;
      // Subscribe before reading, so an issue that lands in between is not missed.
      let deliver: (claim: Claim) => void = () => undefined;
      const early: Claim[] = [];
      deliver = (claim) => early.push(claim);
      const unsubscribe = await deps.notifier.subscribe(claimId, (claim) => deliver(claim));
      let claim: Claim | undefined;
      try {
        claim = await findClaim(claimId);
      } catch (error) {
        unsubscribe();
        throw error;
      }
      if (!claim) {
        unsubscribe();
        throw new StampedeError("claim_not_found");
      }
      try {
        auth.assertReader(request, claim.userId);
      } catch (error) {
        unsubscribe();
        throw error;
      }
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache, no-transform",
        connection: "keep-alive",
        "x-request-id": String(request.id),
        "x-accel-buffering": "no",
      });
      let finished = false;
      const finish = () => {
        if (finished) return;
        finished = true;
        clearInterval(heartbeat);
        unsubscribe();
        raw.end();
      };
      const send = (c: Claim) => {
        if (finished) return;
        raw.write(`event: status\ndata: ${JSON.stringify(presentClaim(c))}\n\n`);
        if (c.status === "issued") finish();
      };
      const heartbeat = setInterval(() => raw.write(": heartbeat\n\n"), heartbeatMs);
      request.raw.on("close", finish);
      send(early.find((c) => c.status === "issued") ?? claim);
      deliver = send;
    },
  );
}
