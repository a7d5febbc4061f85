/**
 * The lifecycle seam on the ledger side: every admin change is recorded with
 * who made it and when (docs/lifecycle.md). Each ledger implements it next to
 * its Ledger; the API sees only this interface.
 */
import type { Campaign } from "../domain/types.ts";

/** Who asked: the admin token has no identity, so the caller declares one (X-Actor) and the request is pinned down. */
export interface Actor {
  /** X-Actor, or "admin" when absent. Declared by the caller, not authenticated. */
  actor: string;
  requestId: string;
  clientIp: string;
}

export type AuditAction =
  | "update"
  | "close"
  | "webhook_set"
  | "webhook_removed"
  | "deliveries_replayed"
  | "erase_user";

export interface AuditEntry extends Actor {
  campaignId: string;
  at: number;
  action: AuditAction;
  /** What changed, as JSON (never a userId in clear). */
  details: Record<string, unknown>;
}

export interface AuditRecord extends AuditEntry {
  id: number;
}

export interface LifecycleLedger {
  /**
   * Stores the campaign's lifecycle fields (status, stock, endsAt, revision)
   * unless the ledger already holds a higher revision, and the audit entry,
   * in one transaction.
   */
  recordCampaignChange(campaign: Campaign, audit: AuditEntry): Promise<void>;
  /** Audit entries of a campaign, oldest first, after the entry with id `after`. */
  auditLog(campaignId: string, after: number, limit: number): Promise<AuditRecord[]>;
  /**
   * Erasure, one transaction: the user's claims in the campaign are held by
   * their tombstones from now on (domain/erasure.ts) and lose their
   * idempotency key, their undelivered webhook deliveries are dropped, and the
   * audit entry is written when given. Returns the claim ids anonymised.
   */
  eraseUser(campaignId: string, userId: string, audit: AuditEntry | undefined): Promise<string[]>;
}
