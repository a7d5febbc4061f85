/** What services answer, as the contract's JSON bodies (epoch ms -> RFC3339). */
import { seedRevealed } from "../domain/draw.ts";
import { type Claim, campaignStatus } from "../domain/types.ts";
import type { DeliveryRecord } from "../ports/delivery.ts";
import type { AuditRecord } from "../ports/lifecycle-ledger.ts";
import type { TaskRecord } from "../ports/task-store.ts";
import type { CampaignView } from "../services/campaigns.ts";
import type { WebhookSet } from "../services/deliveries.ts";
import type { TicketRead } from "../services/waiting-room.ts";

const iso = (ms: number) => new Date(ms).toISOString();
const isoOrNull = (ms: number | null) => (ms === null ? null : iso(ms));

export function campaignBody({ campaign, counts, at }: CampaignView) {
  const body: Record<string, unknown> = {
    id: campaign.id,
    name: campaign.name,
    stock: campaign.stock,
    perUserLimit: campaign.perUserLimit,
    startsAt: isoOrNull(campaign.startsAt),
    endsAt: isoOrNull(campaign.endsAt),
    createdAt: iso(campaign.createdAt),
    status: campaignStatus(campaign),
  };
  // Campaigns with holds add holdSeconds and held (docs/api.md "Holds").
  if (campaign.holdSeconds) body.holdSeconds = campaign.holdSeconds;
  if (campaign.shards && campaign.shards > 1) body.shards = campaign.shards;
  body.issued = counts.issued;
  body.pending = counts.pending;
  if (campaign.holdSeconds) body.held = counts.held;
  body.remaining = counts.remaining;
  // A room shows its settings and commitment always, its seed only from startsAt.
  const room = campaign.waitingRoom;
  if (room) {
    body.waitingRoom =
      room.releasePerSecond == null
        ? { prequeueSeconds: room.prequeueSeconds }
        : { prequeueSeconds: room.prequeueSeconds, releasePerSecond: room.releasePerSecond };
    body.drawCommitment = room.commitment;
    if (seedRevealed(campaign, at)) body.drawSeed = room.seed;
  }
  body.serverTime = iso(at);
  return body;
}

export function claimBody(claim: Claim) {
  const body: Record<string, string> = {
    claimId: claim.claimId,
    campaignId: claim.campaignId,
    userId: claim.userId,
    status: claim.status,
    admittedAt: iso(claim.admittedAt),
  };
  if (claim.status === "issued") {
    body.couponCode = claim.couponCode;
    if (claim.issuedAt !== undefined) body.issuedAt = iso(claim.issuedAt);
  }
  if (claim.expiresAt !== undefined) body.expiresAt = iso(claim.expiresAt);
  if (claim.endedAt !== undefined && (claim.status === "expired" || claim.status === "released"))
    body.endedAt = iso(claim.endedAt);
  return body;
}

/** A waiting-room ticket (docs/api.md "Read and watch a ticket"). */
export function ticketBody(ticket: TicketRead) {
  const body: Record<string, unknown> = {
    ticketId: ticket.ticketId,
    campaignId: ticket.campaignId,
    userId: ticket.userId,
    status: ticket.status,
    position: ticket.position,
    ahead: ticket.ahead,
    remaining: ticket.remaining,
    etaSeconds: ticket.etaSeconds,
  };
  if (ticket.drawValue !== undefined) body.drawValue = ticket.drawValue;
  if (ticket.claimId !== undefined) body.claimId = ticket.claimId;
  body.joinedAt = iso(ticket.joinedAt);
  return body;
}

export function taskBody(task: TaskRecord) {
  const body: Record<string, unknown> = {
    taskId: task.taskId,
    type: task.type,
    status: task.status,
    attempts: task.attempts,
    maxAttempts: task.maxAttempts,
    createdAt: iso(task.createdAt),
    updatedAt: iso(task.updatedAt),
  };
  if (task.status === "succeeded") body.result = task.result ?? null;
  if (task.error !== undefined && task.status !== "succeeded") body.error = task.error;
  if (task.startedAt !== undefined) body.startedAt = iso(task.startedAt);
  if (task.finishedAt !== undefined) body.finishedAt = iso(task.finishedAt);
  if (task.runAfter !== undefined) body.nextAttemptAt = iso(task.runAfter);
  return body;
}

export const auditBody = (entry: AuditRecord) => ({
  id: entry.id,
  at: iso(entry.at),
  actor: entry.actor,
  requestId: entry.requestId,
  clientIp: entry.clientIp,
  action: entry.action,
  details: entry.details,
});

/** A webhook without its secret, unless this answer generated it. */
export const webhookBody = ({ webhook, ...rest }: WebhookSet) => ({
  webhook: webhook ? { url: webhook.url, updatedAt: iso(webhook.updatedAt) } : null,
  ...rest,
});

export const deliveryBody = (d: DeliveryRecord) => ({
  deliveryId: d.deliveryId,
  claimId: d.claimId,
  attempts: d.attempts,
  lastError: d.lastError,
  createdAt: iso(d.createdAt),
});
