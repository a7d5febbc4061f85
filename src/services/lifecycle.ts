import { StampedeError } from "../domain/errors.ts";
import type { Campaign, CampaignStatus } from "../domain/types.ts";
import type { AdmissionStore, CampaignChange, ChangeOutcome } from "../ports/admission.ts";
import type { Actor, AuditAction, AuditRecord, LifecycleLedger } from "../ports/lifecycle-ledger.ts";
import type { CampaignService, CampaignView } from "./campaigns.ts";

/** What a PATCH may change; absent fields stay as they are. */
export interface CampaignPatch {
  status?: Exclude<CampaignStatus, "closed"> | undefined;
  stock?: number | undefined;
  /** null removes the end. */
  endsAt?: number | null | undefined;
}

export interface LifecycleServicePorts {
  admission: AdmissionStore;
  lifecycle: LifecycleLedger;
  campaigns: CampaignService;
}

/**
 * Lifecycle (docs/lifecycle.md): pause / resume, stock and endsAt during a
 * live drop, close, and the audit trail. Each change is applied by the
 * admission store in one atomic step (validated there against the live
 * counters), then recorded in the ledger with its audit entry.
 */
export class LifecycleService {
  readonly #ports: LifecycleServicePorts;

  constructor(ports: LifecycleServicePorts) {
    this.#ports = ports;
  }

  /** Throws campaign_not_found, invalid_request, or campaign_not_active (closed, archived). */
  async update(campaignId: string, patch: CampaignPatch, actor: Actor): Promise<CampaignView> {
    const campaign = await this.#ports.campaigns.require(campaignId);
    const wanted: CampaignChange = {};
    if (patch.status !== undefined) wanted.status = patch.status;
    if (patch.stock !== undefined) wanted.stock = patch.stock;
    if (patch.endsAt !== undefined) {
      wanted.endsAt = patch.endsAt;
      if (patch.endsAt !== null && campaign.startsAt !== null && patch.endsAt <= campaign.startsAt)
        throw new StampedeError("invalid_request", "endsAt must be after startsAt.");
    }
    return this.#change(campaignId, wanted, "update", actor);
  }

  /** Ends the campaign for good; closing a closed campaign answers it unchanged. */
  close(campaignId: string, actor: Actor): Promise<CampaignView> {
    return this.#change(campaignId, { status: "closed" }, "close", actor);
  }

  /** The campaign's audit entries after the entry `after`, oldest first; throws campaign_not_found. */
  async auditLog(campaignId: string, after: number, limit: number): Promise<AuditRecord[]> {
    await this.#ports.campaigns.requireInLedger(campaignId);
    return this.#ports.lifecycle.auditLog(campaignId, after, limit);
  }

  /** Applies a change and records it; answers the campaign as it now is. */
  async #change(
    campaignId: string,
    wanted: CampaignChange,
    action: AuditAction,
    actor: Actor,
  ): Promise<CampaignView> {
    const outcome = await this.#ports.admission.changeCampaign(campaignId, wanted);
    if (outcome.kind !== "changed") return this.#refused(outcome, action);
    try {
      await this.#ports.lifecycle.recordCampaignChange(outcome.campaign, {
        ...actor,
        campaignId,
        at: outcome.appliedAt,
        action,
        details: {
          changes: diff(outcome.previous, outcome.campaign),
          revision: outcome.campaign.revision ?? 0,
        },
      });
    } catch (error) {
      // Admission already applies the change. Changes carry absolute values, so
      // repeating the request records it (and applies it again, harmlessly).
      throw new StampedeError(
        "unavailable",
        "The change is in effect but the ledger did not record it; repeat the request.",
        { retryAfter: 1, cause: error },
      );
    }
    return this.#ports.campaigns.view(outcome.campaign);
  }

  async #refused(
    outcome: Exclude<ChangeOutcome, { kind: "changed" }>,
    action: AuditAction,
  ): Promise<CampaignView> {
    switch (outcome.kind) {
      case "campaign_not_found":
        throw new StampedeError("campaign_not_found");
      case "closed":
        // Closing twice is the same close: answer the campaign as it is.
        if (action === "close") return this.#ports.campaigns.view(outcome.campaign);
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
  }
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** What a change changed, for the audit entry. */
function diff(before: Campaign, after: Campaign): Record<string, { from: unknown; to: unknown }> {
  const out: Record<string, { from: unknown; to: unknown }> = {};
  const status = (c: Campaign) => c.status ?? "open";
  if (status(before) !== status(after)) out.status = { from: status(before), to: status(after) };
  if (before.stock !== after.stock) out.stock = { from: before.stock, to: after.stock };
  if (before.endsAt !== after.endsAt) out.endsAt = { from: iso(before.endsAt), to: iso(after.endsAt) };
  return out;
}
