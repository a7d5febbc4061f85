import { arrivalKey, drawValue, prequeueKey, prequeueOpensAt, seedRevealed } from "../../domain/draw.ts";
import { newClaimId } from "../../domain/ids.ts";
import type { Campaign, Ticket } from "../../domain/types.ts";
import { windowState } from "../../domain/window.ts";
import type { Queue } from "../../ports/queue.ts";
import type { RateLimiter } from "../../ports/rate-limiter.ts";
import type { TicketRecord } from "../../ports/ticket-ledger.ts";
import type {
  JoinOutcome,
  JoinRequest,
  LineStats,
  ReleaseResult,
  TicketView,
  WaitingRoomStore,
} from "../../ports/waiting-room.ts";
import { Line, type Place } from "./line.ts";
import type { MemoryAdmission } from "./memory-admission.ts";

export interface MemoryWaitingRoomOptions {
  /** The admission clock (epoch ms): the same as MemoryAdmission's. */
  now?: () => number;
  /** RATE_LIMIT_USER / RATE_LIMIT_IP, the claims' limiter: a join is limited like a claim. */
  rateLimiter?: RateLimiter | undefined;
  /**
   * releasePerSecond's burst: at most this many ms of it released at once,
   * however late or often release() is called (default 200, as
   * RedisWaitingRoom's).
   */
  burstMs?: number;
}

/** The release budget's default burst (ms of releasePerSecond): RedisWaitingRoom's. */
export const RELEASE_BURST_MS = 200;

/** drawPages' page: 1,000 values of 64 hex chars, ~66 KB of JSON. */
const DRAW_PAGE = 1000;
const NOT_FOUND: JoinOutcome = Object.freeze({ kind: "campaign_not_found" });
const NO_ROOM: JoinOutcome = Object.freeze({ kind: "no_waiting_room" });
const SOLD_OUT: JoinOutcome = Object.freeze({ kind: "sold_out" });
const noop = () => undefined;

/**
 * The embedded mode's waiting rooms (docs/api.md "Waiting room"): a Line
 * per campaign (./line.ts), in the process that admits, beside its
 * MemoryAdmission, through which every release goes: a ticket released is
 * admitted exactly as a claim (per-user limit, window, stock, holds, the
 * claims journal), decided synchronously and in line order, its claim taking
 * the ticket's id, so that the claim's own durable record is also the
 * record of the ticket's release (no second write can be lost between them).
 *
 * Durability: a join is answered once its record is fsync'ed to the tickets
 * journal (`tickets`, a Queue whose consumer writes the ledger's tickets
 * table); an admitted ticket's claim id follows in the same journal. At
 * start, restore() rebuilds the lines from the ledger's tickets and the
 * journal's survivors; a ticket whose claim exists (in admission or the
 * ledger) but whose own record was lost is admitted again as it was.
 *
 * Who joined before startsAt is decided by this process's clock at the join
 * (the mode's one clock); a pre-queued ticket is placed by its drawValue,
 * computed here from the campaign's seed.
 */
export class MemoryWaitingRoom implements WaitingRoomStore {
  readonly #admission: MemoryAdmission;
  readonly #tickets: Queue<TicketRecord>;
  readonly #now: () => number;
  readonly #limiter: RateLimiter | undefined;
  readonly #burstMs: number;
  readonly #lines = new Map<string, Line>();
  /** Joins whose record is on its way to disk, by ticket id. */
  readonly #joining = new Map<string, Promise<void>>();

  constructor(
    admission: MemoryAdmission,
    tickets: Queue<TicketRecord>,
    options: MemoryWaitingRoomOptions = {},
  ) {
    this.#admission = admission;
    this.#tickets = tickets;
    this.#now = options.now ?? Date.now;
    this.#limiter = options.rateLimiter;
    this.#burstMs = options.burstMs ?? RELEASE_BURST_MS;
  }

  /**
   * Rebuilds the lines after a restart (the campaigns already put in
   * admission): `records` from the ledger's tickets then the journal's
   * survivors (a later record of a ticket adds its claim). `claimed` names
   * tickets whose claim (with the ticket's id) the ledger holds. Returns
   * the records to publish again: tickets found admitted by their claim
   * alone, whose own record was lost.
   */
  async restore(records: Iterable<TicketRecord>, claimed: Iterable<string> = []): Promise<TicketRecord[]> {
    const merged = new Map<string, TicketRecord>();
    for (const record of records) {
      const known = merged.get(record.ticketId);
      if (!known) merged.set(record.ticketId, { ...record });
      else if (record.claimId !== undefined) known.claimId ??= record.claimId;
    }
    const inLedger = new Set(claimed);
    const fixed: TicketRecord[] = [];
    const byCampaign = new Map<string, TicketRecord[]>();
    for (const record of merged.values()) {
      if (
        record.claimId === undefined &&
        (inLedger.has(record.ticketId) || this.#admission.hasClaim(record.ticketId))
      ) {
        record.claimId = record.ticketId;
        fixed.push(record);
      }
      const list = byCampaign.get(record.campaignId);
      if (list) list.push(record);
      else byCampaign.set(record.campaignId, [record]);
    }
    const now = this.#now();
    for (const [campaignId, list] of byCampaign) {
      const campaign = await this.#admission.getCampaign(campaignId);
      if (!campaign?.waitingRoom) continue;
      // Not sealed before the pre-queue is back in: it would take them for arrivals.
      const line = this.#line(campaign, false);
      const prequeued = list.filter((r) => r.arrival === null);
      const arrivals = list.filter((r) => r.arrival !== null).sort((a, b) => a.arrival! - b.arrival!);
      for (const record of prequeued) this.#add(line, campaign, record, true);
      if (arrivals.length > 0 || now >= (campaign.startsAt ?? 0)) line.seal();
      for (const record of arrivals) this.#add(line, campaign, record, true);
      line.skipAdmitted();
    }
    return fixed;
  }

  /** Puts a ticket from its record in its line. */
  #add(line: Line, campaign: Campaign, record: TicketRecord, durable: boolean): Place {
    const ticket: Ticket = {
      ticketId: record.ticketId,
      campaignId: record.campaignId,
      userId: record.userId,
      status: record.claimId === undefined ? "waiting" : "admitted",
      joinedAt: record.joinedAt,
      prequeued: record.arrival === null,
    };
    if (record.claimId !== undefined) ticket.claimId = record.claimId;
    let key: string;
    if (record.arrival === null) {
      ticket.drawValue = drawValue(campaign.waitingRoom!.seed, record.userId);
      key = prequeueKey(ticket.drawValue);
    } else key = arrivalKey(record.arrival);
    return line.add(ticket, key, record.arrival, durable);
  }

  #line(campaign: Campaign, seal = true): Line {
    let line = this.#lines.get(campaign.id);
    if (!line) {
      line = new Line();
      this.#lines.set(campaign.id, line);
    }
    // From startsAt the pre-queue is closed and stands in draw order.
    if (seal && !line.sealed && this.#now() >= (campaign.startsAt ?? 0)) line.seal();
    return line;
  }

  async join(request: JoinRequest): Promise<JoinOutcome> {
    const { campaignId, userId } = request;
    const campaign = await this.#admission.getCampaign(campaignId);
    if (!campaign) return NOT_FOUND;
    if (!campaign.waitingRoom) return NO_ROOM;
    // What this process knows answers before the limiter (as for claims):
    // the user's ticket, a room not open to joins, a hopeless line.
    const known = await this.#known(campaign, userId);
    if (known) return known;
    if (this.#limiter) {
      const retryAfterSec = await this.#limiter.check(campaignId, userId, request.clientIp ?? "");
      if (retryAfterSec !== undefined) return { kind: "rate_limited", retryAfterSec };
    }
    // The limiter may have let another join of this user in first.
    return (await this.#known(campaign, userId)) ?? this.#newTicket(campaign, userId);
  }

  async #known(campaign: Campaign, userId: string): Promise<JoinOutcome | undefined> {
    const line = this.#line(campaign);
    const existing = line.byUser(userId);
    if (existing) {
      await this.#joining.get(existing.ticket.ticketId);
      return { kind: "existing", ticket: this.#view(campaign, line, existing) };
    }
    const now = this.#now();
    if (now < prequeueOpensAt(campaign)) return { kind: "not_active", reason: "not_started" };
    const window = windowState(campaign, now);
    if (window !== "open" && window !== "not_started") return { kind: "not_active", reason: window };
    if (line.sealed && this.#admission.lineCapacity(campaign.id)?.hopeless) return SOLD_OUT;
    return undefined;
  }

  async #newTicket(campaign: Campaign, userId: string): Promise<JoinOutcome> {
    const line = this.#line(campaign);
    // Checked and taken in one synchronous step: two joins of one user racing here make one ticket.
    const existing = line.byUser(userId);
    if (existing) {
      await this.#joining.get(existing.ticket.ticketId);
      return { kind: "existing", ticket: this.#view(campaign, line, existing) };
    }
    const record: TicketRecord = {
      ticketId: newClaimId(),
      campaignId: campaign.id,
      userId,
      joinedAt: this.#now(),
      arrival: line.sealed ? line.nextArrival : null,
    };
    const place = this.#add(line, campaign, record, false);
    const durable = this.#tickets.publish([record]).finally(() => this.#joining.delete(record.ticketId));
    this.#joining.set(record.ticketId, durable.then(noop, noop));
    // A failed publish throws (503): the journal takes no more, and the ticket stays unshown.
    await durable;
    place.durable = true;
    return { kind: "joined", ticket: this.#view(campaign, line, place) };
  }

  async ticket(campaignId: string, ticketId: string): Promise<TicketView | undefined> {
    const campaign = await this.#admission.getCampaign(campaignId);
    if (!campaign?.waitingRoom) return undefined;
    const line = this.#line(campaign);
    const place = line.byId(ticketId);
    if (!place?.durable) return undefined;
    return this.#view(campaign, line, place);
  }

  /** A ticket as the port shows it: its drawValue only from startsAt (the seed is revealed then), by this process's clock. */
  #view(campaign: Campaign, line: Line, place: Place): TicketView {
    const { ticket } = place;
    const status =
      ticket.status === "waiting" && line.soldOut(campaign.revision ?? 0) ? "sold_out" : ticket.status;
    const position = status === "waiting" ? line.position(place) : null;
    const view: TicketView = { ...ticket, status, position, ahead: position === null ? null : position - 1 };
    if (!seedRevealed(campaign, this.#now())) delete view.drawValue;
    return view;
  }

  /**
   * Admits up to `max` tickets from the head (fewer when releasePerSecond's
   * budget holds fewer: #budget), in line order, each through
   * MemoryAdmission.admitFromLine (decided synchronously, one after the
   * other, then made durable together by the journal's group commit). At
   * most the free units are released: a ticket whose user already holds
   * their claims takes no unit and is admitted naming that claim. Then the
   * sold-out flag is set (or cleared, after a stock raise) from whether any
   * unit can still become free (a mark at the campaign's revision: a
   * lifecycle change clears it at once, as in Redis).
   */
  async release(campaignId: string, max: number): Promise<ReleaseResult> {
    const campaign = await this.#admission.getCampaign(campaignId);
    const line = campaign?.waitingRoom && this.#line(campaign);
    if (!campaign || !line?.sealed) return { admitted: [], soldOut: false };
    const before = this.#admission.lineCapacity(campaignId);
    if (!before) return { admitted: [], soldOut: false };
    const n = this.#budget(line, campaign.waitingRoom?.releasePerSecond ?? null, max);
    const releasing: Promise<Ticket | undefined>[] = [];
    let units = before.window === "open" && !before.hopeless ? Math.min(n, before.free) : 0;
    // Tickets admitted already (found so at a restart) are passed over, never admitted twice. A
    // head whose user holds their claims already needs no unit: admitted naming them, even when none is free.
    for (
      let place = line.skipAdmitted();
      place?.durable && releasing.length < n;
      place = line.skipAdmitted()
    ) {
      const { userId, ticketId } = place.ticket;
      if (units === 0 && !this.#admission.holdsFullSet(campaignId, userId)) break;
      const verdict = this.#admission.admitFromLine(campaignId, userId, ticketId);
      if (verdict.kind === "admitted") units--;
      else if (verdict.kind !== "already_claimed") break;
      line.advance();
      const claimId = verdict.claim.claimId;
      releasing.push((verdict.durable ?? Promise.resolve()).then(() => this.#admitted(line, place, claimId)));
    }
    if (line.budget) line.budget.tokens -= releasing.length;
    const results = await Promise.allSettled(releasing);
    const admitted = results.flatMap((r) => (r.status === "fulfilled" && r.value ? [r.value] : []));
    const failed = results.find((r) => r.status === "rejected");
    // A claim the journal could not take: the journal now refuses every write (readiness says so).
    if (failed) throw (failed as PromiseRejectedResult).reason;
    // The campaign as it is now (a change may have come meanwhile), then its capacity, in one step.
    const current = await this.#admission.getCampaign(campaignId);
    return this.#settle(line, current, this.#admission.lineCapacity(campaignId)?.hopeless ?? false, admitted);
  }

  /**
   * How many tickets this call may release: `max`, and with releasePerSecond
   * what the line's token bucket holds (full, burstMs of releases, at the
   * first release; refilled at the rate since the last), so that the rate
   * holds whoever calls and however often, as room-release-8.lua's bucket.
   */
  #budget(line: Line, perSecond: number | null, max: number): number {
    if (!perSecond) return max;
    const now = this.#now();
    const burst = Math.max(1, (perSecond * this.#burstMs) / 1000);
    const known = line.budget;
    const tokens = known
      ? Math.min(burst, known.tokens + (Math.max(0, now - known.at) * perSecond) / 1000)
      : burst;
    line.budget = { tokens, at: now };
    return Math.min(max, Math.floor(tokens));
  }

  /** A released ticket's claim is durable: it shows admitted, and its record says which claim. */
  async #admitted(line: Line, place: Place, claimId: string): Promise<Ticket> {
    line.admit(place, claimId);
    const { ticket } = place;
    await this.#tickets.publish([
      {
        ticketId: ticket.ticketId,
        campaignId: ticket.campaignId,
        userId: ticket.userId,
        joinedAt: ticket.joinedAt,
        arrival: place.arrival,
        claimId,
      },
    ]);
    return { ...ticket };
  }

  /** Marks the line sold out at the campaign's current revision, or clears the mark. */
  #settle(line: Line, campaign: Campaign | undefined, hopeless: boolean, admitted: Ticket[]): ReleaseResult {
    const soldOut = campaign !== undefined && hopeless && line.waiting > 0;
    line.soldOutRevision = soldOut ? (campaign.revision ?? 0) : undefined;
    return { admitted, soldOut };
  }

  async stats(campaignId: string): Promise<LineStats | undefined> {
    const campaign = await this.#admission.getCampaign(campaignId);
    if (!campaign?.waitingRoom) return undefined;
    const line = this.#line(campaign);
    return {
      waiting: line.waiting,
      prequeued: line.prequeued,
      admitted: line.admitted,
      soldOut: line.soldOut(campaign.revision ?? 0),
    };
  }

  async *drawOrder(campaignId: string): AsyncIterable<readonly string[]> {
    const campaign = await this.#admission.getCampaign(campaignId);
    if (!campaign?.waitingRoom) return;
    const line = this.#line(campaign);
    if (!line.sealed) return;
    // A join that came before startsAt may still be on its way to disk: the draw waits for it.
    await Promise.all(this.#joining.values());
    // The sealed pre-queue never changes: a page at a time, however slowly the caller takes them.
    yield* line.drawPages(DRAW_PAGE);
  }
}
