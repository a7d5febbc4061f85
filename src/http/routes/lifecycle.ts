import type { FastifyInstance } from "fastify";
import { StampedeError } from "../../domain/errors.ts";
import type { Campaign } from "../../domain/types.ts";
import { userHasher, userHashKey } from "../../domain/user-hash.ts";
import type { CampaignChange, ChangeOutcome } from "../../ports/admission.ts";
import type { AuditAction, AuditRecord, LifecycleLedger } from "../../ports/lifecycle-ledger.ts";
import { actorOf } from "../actor.ts";
import type { Guard } from "../auth.ts";
import type { ApiDeps } from "../deps.ts";
import {
  actorHeaders,
  auditPage,
  auditQuery,
  erasureResult,
  patchCampaignBody,
} from "../lifecycle-schemas.ts";
import { COMMON_ERRORS, errorResponses } from "../openapi.ts";
import { campaignBody } from "../present.ts";
import { campaignParams, userClaimsParams } from "../schemas.ts";

/**
 * Lifecycle (admin, docs/lifecycle.md): pause / resume, stock and endsAt
 * during a live drop, close, the audit trail, and erasure. Each change is
 * applied by the admission store in one atomic step (validated there against
 * the live counters), then recorded in the ledger with its audit entry.
 */
interface PatchBody {
  status?: "open" | "paused";
  stock?: number;
  endsAt?: string | null;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function registerLifecycleRoutes(app: FastifyInstance, deps: ApiDeps, admin: Guard): void {
  const lifecycle = deps.lifecycle;
  if (!lifecycle) return;
  const now = deps.now ?? Date.now;
  const timeoutMs = deps.requestTimeoutMs ?? 5000;
  const hashUser = userHasher(userHashKey(deps.adminToken));

  const present = async (campaign: Campaign) => {
    const counters = (await deps.admission.counters(campaign.id)) ?? { admitted: 0, issued: 0 };
    return campaignBody(campaign, counters, now());
  };

  /** Applies a change and records it; answers the campaign as it now is. */
  const change = async (
    request: Parameters<typeof actorOf>[0],
    campaignId: string,
    wanted: CampaignChange,
    action: AuditAction,
  ) => {
    const outcome = await deps.admission.changeCampaign(campaignId, wanted);
    if (outcome.kind !== "changed") return refuse(outcome, action);
    await record(lifecycle.ledger, outcome, {
      ...actorOf(request),
      campaignId,
      at: outcome.appliedAt,
      action,
      details: {
        changes: diff(outcome.previous, outcome.campaign),
        revision: outcome.campaign.revision ?? 0,
      },
    });
    return present(outcome.campaign);
  };

  const refuse = async (outcome: Exclude<ChangeOutcome, { kind: "changed" }>, action: AuditAction) => {
    switch (outcome.kind) {
      case "campaign_not_found":
        throw new StampedeError("campaign_not_found");
      case "closed":
        // Closing twice is the same close: answer the campaign as it is.
        if (action === "close") return present(outcome.campaign);
        throw new StampedeError(
          "campaign_not_active",
          "The campaign is closed; a closed campaign cannot change.",
          {
            fields: { reason: "closed" },
          },
        );
      case "archived":
        throw new StampedeError(
          "campaign_not_active",
          "The campaign ended longer ago than the retention grace; it can no longer change.",
          { fields: { reason: "ended" } },
        );
      case "stock_below_admitted":
        throw new StampedeError(
          "invalid_request",
          `stock cannot go below the ${outcome.admitted} units already admitted.`,
          { fields: { admitted: outcome.admitted } },
        );
    }
  };

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
        body: patchCampaignBody,
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
      const { id } = request.params;
      const body = request.body;
      const campaign = await deps.admission.getCampaign(id);
      if (!campaign) throw new StampedeError("campaign_not_found");
      const wanted: CampaignChange = {};
      if (body.status !== undefined) wanted.status = body.status;
      if (body.stock !== undefined) wanted.stock = body.stock;
      if (body.endsAt !== undefined) {
        wanted.endsAt = body.endsAt === null ? null : Date.parse(body.endsAt);
        if (wanted.endsAt !== null && campaign.startsAt !== null && wanted.endsAt <= campaign.startsAt)
          throw new StampedeError("invalid_request", "endsAt must be after startsAt.");
      }
      return change(request, id, wanted, "update");
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
    async (request) => change(request, request.params.id, { status: "closed" }, "close"),
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
          200: auditPage,
          ...errorResponses(...COMMON_ERRORS, "unauthorized", "campaign_not_found"),
        },
      },
    },
    async (request) => {
      const { id } = request.params;
      if (!(await deps.ledger.getCampaign(id))) throw new StampedeError("campaign_not_found");
      const limit = pageLimit(request.query.limit);
      const entries = await lifecycle.ledger.auditLog(id, Number(request.query.after ?? 0), limit);
      return {
        entries: entries.map(presentAudit),
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
          200: erasureResult,
          ...errorResponses(...COMMON_ERRORS, "unauthorized", "campaign_not_found"),
        },
      },
    },
    async (request) => {
      const { id, userId } = request.params;
      if (!(await deps.admission.getCampaign(id))) throw new StampedeError("campaign_not_found");
      const audit = {
        ...actorOf(request),
        campaignId: id,
        action: "erase_user" as const,
        details: { user: hashUser(userId) },
      };
      // Ledger first, admission second: until admission forgets the user,
      // their claims keep new ones of theirs out, so no new claim can collide
      // with a row not yet anonymised. Admission refuses while a claim of
      // theirs is pending (it would reach the ledger with the userId):
      // then wait for the worker and go again.
      const deadline = performance.now() + timeoutMs;
      let erased = 0;
      for (;;) {
        erased += (await lifecycle.ledger.eraseUser(id, userId, { ...audit, at: now() })).length;
        const outcome = await deps.admission.forgetUser(id, userId);
        if (outcome.kind === "forgotten") return { erased };
        if (outcome.kind === "campaign_not_found") throw new StampedeError("campaign_not_found");
        if (performance.now() > deadline)
          throw new StampedeError("unavailable", "A claim of this user is still being issued; retry.", {
            retryAfter: 1,
          });
        await sleep(20);
      }
    },
  );
}

async function record(
  ledger: LifecycleLedger,
  outcome: Extract<ChangeOutcome, { kind: "changed" }>,
  audit: Parameters<LifecycleLedger["recordCampaignChange"]>[1],
): Promise<void> {
  try {
    await ledger.recordCampaignChange(outcome.campaign, audit);
  } catch (error) {
    // Admission already applies the change. Changes carry absolute values, so
    // repeating the request records it (and applies it again, harmlessly).
    throw new StampedeError(
      "unavailable",
      "The change is in effect but the ledger did not record it; repeat the request.",
      { retryAfter: 1, cause: error },
    );
  }
}

function diff(before: Campaign, after: Campaign): Record<string, { from: unknown; to: unknown }> {
  const out: Record<string, { from: unknown; to: unknown }> = {};
  const status = (c: Campaign) => c.status ?? "open";
  if (status(before) !== status(after)) out.status = { from: status(before), to: status(after) };
  if (before.stock !== after.stock) out.stock = { from: before.stock, to: after.stock };
  if (before.endsAt !== after.endsAt) out.endsAt = { from: iso(before.endsAt), to: iso(after.endsAt) };
  return out;
}

export function pageLimit(raw: string | undefined): number {
  const n = raw === undefined ? 100 : Number(raw);
  if (n < 1 || n > 1000) throw new StampedeError("invalid_request", "limit must be 1 to 1000.");
  return n;
}

const presentAudit = (entry: AuditRecord) => ({
  id: entry.id,
  at: new Date(entry.at).toISOString(),
  actor: entry.actor,
  requestId: entry.requestId,
  clientIp: entry.clientIp,
  action: entry.action,
  details: entry.details,
});
