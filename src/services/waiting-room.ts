import { seedRevealed } from "../domain/draw.ts";
import { StampedeError } from "../domain/errors.ts";
import type { Campaign } from "../domain/types.ts";
import type { LineStats, TicketView, WaitingRoomStore } from "../ports/waiting-room.ts";
import type { CampaignService } from "./campaigns.ts";
import { notActive } from "./claims.ts";
import { LineWatch } from "./line-watch.ts";
import type { Watched } from "./watch.ts";

/** A ticket as the read routes show it (docs/api.md "Read and watch a ticket"). */
export interface TicketRead extends TicketView {
  /** The campaign's units not held by an admitted claim. */
  remaining: number;
  /** Seconds until admission at the release rate; null when unknown (no rate yet, or more ahead than remaining). */
  etaSeconds: number | null;
}

/** The draw of a campaign, once public (GET /v1/campaigns/:id/draw). */
export interface DrawRead {
  drawCommitment: string;
  drawSeed: string;
  prequeued: number;
  /** The pre-queue's drawValues in draw order, a page at a time. */
  order: AsyncIterable<readonly string[]>;
}

/** A line as the dashboard shows it. */
export interface LineRead extends LineStats {
  releasePerSecond: number | null;
  /** Tickets admitted a second lately (null when nothing was seen moving). */
  observedPerSecond: number | null;
  drawCommitment: string;
}

export interface WaitingRoomServicePorts {
  store: WaitingRoomStore;
  campaigns: CampaignService;
  now?: (() => number) | undefined;
  /** How often watched lines are looked at (1 s: at most one event a second per ticket; tests shorten it). */
  watchIntervalMs?: number | undefined;
}

/** The window the observed release rate is measured over. */
const RATE_WINDOW_MS = 10_000;

interface RateSample {
  at: number;
  admitted: number;
}

interface CampaignLine {
  stats: LineStats;
  at: number;
  samples: RateSample[];
}

/**
 * The waiting room's use cases, for every mode (docs/api.md "Waiting room"):
 * join, read and watch a ticket, the draw. The store (ports/waiting-room.ts)
 * keeps the line and releases it; this adds what the contract shows around
 * it: `remaining` (the campaign's counters), `etaSeconds` (from the room's
 * releasePerSecond, else the rate the line was seen moving at), and the
 * errors.
 */
export class WaitingRoomService {
  readonly #store: WaitingRoomStore;
  readonly #campaigns: CampaignService;
  readonly #now: () => number;
  readonly #lines = new Map<string, CampaignLine>();
  /** How long a line's counts are reused by reads (also the rate's sampling step): the watch interval. */
  readonly #statsTtlMs: number;
  readonly #watch: LineWatch<TicketRead>;

  constructor(ports: WaitingRoomServicePorts) {
    this.#store = ports.store;
    this.#campaigns = ports.campaigns;
    this.#now = ports.now ?? Date.now;
    this.#statsTtlMs = ports.watchIntervalMs ?? 1000;
    this.#watch = new LineWatch({
      intervalMs: this.#statsTtlMs,
      version: (campaignId) => this.#version(campaignId),
      read: (campaignId, ticketId) => this.ticket(campaignId, ticketId),
    });
  }

  /**
   * Takes a place in line, or finds the user's (`created: false`). Throws
   * campaign_not_found, invalid_request (no room), campaign_not_active
   * (before the pre-queue opens, ended, paused, closed), rate_limited,
   * sold_out (a hopeless line).
   */
  async join(request: {
    campaignId: string;
    userId: string;
    clientIp: string;
  }): Promise<{ created: boolean; ticket: TicketRead }> {
    const outcome = await this.#store.join(request);
    switch (outcome.kind) {
      case "joined":
      case "existing":
        return { created: outcome.kind === "joined", ticket: await this.#read(outcome.ticket) };
      case "campaign_not_found":
        throw new StampedeError("campaign_not_found");
      case "no_waiting_room":
        throw noRoom();
      case "not_active":
        throw notActive(outcome.reason);
      case "rate_limited":
        throw new StampedeError("rate_limited", "Too many requests for this user; retry later.", {
          retryAfter: outcome.retryAfterSec,
        });
      case "sold_out":
        throw new StampedeError("sold_out", "No unit can become free any more: the line is sold out.");
    }
  }

  /** Throws ticket_not_found (also for a campaign without a room), campaign_not_found. */
  async ticket(campaignId: string, ticketId: string): Promise<TicketRead> {
    const view = await this.#store.ticket(campaignId, ticketId);
    if (!view) {
      await this.#campaigns.require(campaignId);
      throw new StampedeError("ticket_not_found");
    }
    return this.#read(view);
  }

  /**
   * Follows a ticket (SSE): its state now, then at most once per watch
   * interval while its line moves, per campaign (one look at the line
   * serves every watcher of it), ending at admitted or sold_out.
   */
  watch(campaignId: string, ticketId: string): Promise<Watched<TicketRead>> {
    return this.#watch.watch(campaignId, ticketId);
  }

  /** The draw, public from startsAt; throws campaign_not_found, invalid_request (no room), campaign_not_active. */
  async draw(campaignId: string): Promise<DrawRead> {
    const campaign = await this.#campaigns.require(campaignId);
    const room = campaign.waitingRoom;
    if (!room) throw noRoom();
    if (!seedRevealed(campaign, this.#now())) throw notActive("not_started");
    // The first page comes once the pre-queue is settled (a join made before startsAt may be
    // landing): only then is its size read, so that it is the order's length.
    const pages = this.#store.drawOrder(campaignId)[Symbol.asyncIterator]();
    const first = await pages.next();
    const stats = await this.#store.stats(campaignId);
    return {
      drawCommitment: room.commitment,
      drawSeed: room.seed,
      prequeued: stats?.prequeued ?? 0,
      order: (async function* () {
        try {
          if (first.done) return;
          yield first.value;
          for (let page = await pages.next(); !page.done; page = await pages.next()) yield page.value;
        } finally {
          // A client gone mid-way: the store's reading stops too.
          await pages.return?.();
        }
      })(),
    };
  }

  /** The line of a campaign with a room (the dashboard), or undefined. */
  async line(campaign: Campaign): Promise<LineRead | undefined> {
    const room = campaign.waitingRoom;
    if (!room) return undefined;
    const line = await this.#lineOf(campaign.id);
    if (!line) return undefined;
    return {
      ...line.stats,
      releasePerSecond: room.releasePerSecond ?? null,
      observedPerSecond: observedRate(line.samples, this.#statsTtlMs),
      drawCommitment: room.commitment,
    };
  }

  /** Stops the watchers' timers (shutdown). */
  close(): void {
    this.#watch.close();
  }

  async #read(view: TicketView): Promise<TicketRead> {
    const { campaign, counts } = await this.#campaigns.get(view.campaignId);
    const line = await this.#lineOf(campaign.id);
    const rate =
      campaign.waitingRoom?.releasePerSecond ?? (line ? observedRate(line.samples, this.#statsTtlMs) : null);
    const { remaining } = counts;
    let etaSeconds: number | null = null;
    if (view.status === "waiting" && view.ahead !== null && rate && view.ahead < remaining)
      etaSeconds = Math.ceil(view.ahead / rate);
    // The drawValue is the store's to show (from startsAt, by the mode's one clock: ports/waiting-room.ts).
    return { ...view, remaining: Math.max(0, remaining), etaSeconds };
  }

  /** The line's counts, read at most once per #statsTtlMs, each read a sample of its release rate. */
  async #lineOf(campaignId: string): Promise<CampaignLine | undefined> {
    const now = this.#now();
    const known = this.#lines.get(campaignId);
    if (known && now - known.at < this.#statsTtlMs) return known;
    const stats = await this.#store.stats(campaignId);
    if (!stats) return undefined;
    const line = known ?? { stats, at: now, samples: [] };
    line.stats = stats;
    line.at = now;
    line.samples.push({ at: now, admitted: stats.admitted });
    while (line.samples.length > 2 && now - line.samples[0]!.at > RATE_WINDOW_MS) line.samples.shift();
    this.#lines.set(campaignId, line);
    return line;
  }

  /** What changes when a watcher's ticket may have changed: the line's counts and the campaign's remaining. */
  async #version(campaignId: string): Promise<string> {
    const [line, view] = await Promise.all([this.#lineOf(campaignId), this.#campaigns.get(campaignId)]);
    const stats = line?.stats;
    return `${stats?.waiting}:${stats?.admitted}:${stats?.soldOut}:${view.counts.remaining}`;
  }
}

const noRoom = () =>
  new StampedeError(
    "invalid_request",
    "This campaign has no waiting room: claim directly (POST /v1/campaigns/:id/claims).",
  );

/** Tickets admitted a second over the samples' span (at least `minSpanMs`); null until the line was seen moving. */
function observedRate(samples: readonly RateSample[], minSpanMs: number): number | null {
  const first = samples[0];
  const last = samples.at(-1);
  if (!first || !last || last.at - first.at < minSpanMs) return null;
  const moved = last.admitted - first.admitted;
  return moved > 0 ? (moved * 1000) / (last.at - first.at) : null;
}
