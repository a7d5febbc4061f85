/**
 * One campaign's waiting line in the embedded store (docs/api.md "Waiting
 * room"): the design's one ordered set, kept as two arrays.
 *
 * - The pre-queue, tickets that joined before startsAt, ordered by their
 *   order key (`0` + 128 bits of drawValue, then ticketId for a 2^-128 tie).
 *   It only grows before startsAt, when positions are null, so it needs no
 *   order then: joins land in an unsorted buffer that is sorted and merged
 *   into the sorted run once it holds a quarter as many (amortised O(log n)
 *   a join), and the rest at startsAt (`seal()`: O(k log k + n) for the last
 *   k joins). From startsAt it never changes again.
 * - The arrivals, tickets that joined from startsAt, appended in order.
 *
 * Line order is pre-queue then arrivals, and tickets leave only from the
 * head, in that order (the release admits them one by one): `head` counts
 * those released. So each ticket's place is a fixed index, and its position
 * among the waiting is `index - head + 1`: O(1) reads, and a position that
 * can only fall. A ticket released but whose claim is not yet durable reads
 * position 1 until it shows as admitted.
 */
import type { Ticket } from "../../domain/types.ts";

/** A ticket and its place. */
export interface Place {
  readonly ticket: Ticket;
  /** The order key (domain/draw.ts): pre-queue by drawValue, then arrival. */
  readonly key: string;
  /** Null for a pre-queued ticket; else the n-th to join from startsAt. */
  readonly arrival: number | null;
  /** Its index in line order once the line is sealed (pre-queue) or from its arrival; -1 before. */
  index: number;
  /** Its join is on disk: it may be shown and released. */
  durable: boolean;
}

/** Pre-queue joins merged at once at least (fewer: they wait in the buffer). */
const MERGE_MIN = 1024;

const byKey = (a: Place, b: Place): number =>
  a.key < b.key ? -1 : a.key > b.key ? 1 : a.ticket.ticketId < b.ticket.ticketId ? -1 : 1;

export class Line {
  readonly #byId = new Map<string, Place>();
  readonly #byUser = new Map<string, Place>();
  /** The pre-queue's sorted run (all of it once sealed). */
  #prequeue: Place[] = [];
  /** Pre-queue joins not yet merged into the run (empty once sealed). */
  #unsorted: Place[] = [];
  readonly #arrivals: Place[] = [];
  #lastArrival = 0;
  #sealed = false;
  /** Places released from the head (line order). */
  #head = 0;
  /** Tickets waiting (not yet shown admitted). */
  #waiting = 0;
  #admitted = 0;
  /** releasePerSecond's token bucket (tokens left, when last refilled), from the first release on. */
  budget: { tokens: number; at: number } | undefined;
  /**
   * The campaign's lifecycle revision at which the line was found hopeless
   * (no unit can become free any more): while the campaign is at it, every
   * waiting ticket reads sold_out (one mark, no write per ticket). A
   * lifecycle change (a stock raise...) bumps the revision, which clears it,
   * as roomSoldOut does in Redis.
   */
  soldOutRevision: number | undefined;

  /** Whether the line reads sold out for the campaign at `revision`. */
  soldOut(revision: number): boolean {
    return this.soldOutRevision === revision;
  }

  get sealed(): boolean {
    return this.#sealed;
  }

  get size(): number {
    return this.#byId.size;
  }

  get prequeued(): number {
    return this.#prequeue.length + this.#unsorted.length;
  }

  get waiting(): number {
    return this.#waiting;
  }

  get admitted(): number {
    return this.#admitted;
  }

  /**
   * The next arrival's number: one past the highest so far (after a restart
   * there may be gaps, left by joins a crash undid before their 202; a
   * number is never given twice).
   */
  get nextArrival(): number {
    return this.#lastArrival + 1;
  }

  byId(ticketId: string): Place | undefined {
    return this.#byId.get(ticketId);
  }

  byUser(userId: string): Place | undefined {
    return this.#byUser.get(userId);
  }

  /**
   * Adds a ticket: pre-queued (arrival null) before the seal, else an
   * arrival numbered above every earlier one (`nextArrival` for a join). An
   * admitted ticket counts as such.
   */
  add(ticket: Ticket, key: string, arrival: number | null, durable: boolean): Place {
    const place: Place = { ticket, key, arrival, index: -1, durable };
    this.#byId.set(ticket.ticketId, place);
    this.#byUser.set(ticket.userId, place);
    if (ticket.status === "admitted") this.#admitted++;
    else this.#waiting++;
    if (arrival === null && !this.#sealed) {
      this.#unsorted.push(place);
      if (this.#unsorted.length >= Math.max(MERGE_MIN, this.#prequeue.length >> 2)) this.#merge();
    } else {
      place.index = this.#prequeue.length + this.#arrivals.length;
      this.#arrivals.push(place);
      this.#lastArrival = Math.max(this.#lastArrival, arrival ?? 0);
    }
    return place;
  }

  /**
   * From startsAt: the pre-queue takes its final order (the draw) and each
   * ticket its index; arrivals, which only come after, follow it. Idempotent.
   * After a restart, arrivals (sorted by their keys) are added after the seal.
   */
  seal(): void {
    if (this.#sealed) return;
    this.#merge();
    this.#sealed = true;
    for (const [i, place] of this.#prequeue.entries()) place.index = i;
  }

  #merge(): void {
    if (this.#unsorted.length === 0) return;
    const fresh = this.#unsorted.sort(byKey);
    this.#unsorted = [];
    const run = this.#prequeue;
    const merged: Place[] = new Array(run.length + fresh.length);
    let i = 0;
    let j = 0;
    let k = 0;
    while (i < run.length && j < fresh.length)
      merged[k++] = byKey(run[i]!, fresh[j]!) < 0 ? run[i++]! : fresh[j++]!;
    while (i < run.length) merged[k++] = run[i++]!;
    while (j < fresh.length) merged[k++] = fresh[j++]!;
    this.#prequeue = merged;
  }

  /** The place at the head of the line (sealed lines only), or undefined once all are released. */
  head(): Place | undefined {
    const i = this.#head;
    const pre = this.#prequeue.length;
    return i < pre ? this.#prequeue[i] : this.#arrivals[i - pre];
  }

  /** The head ticket leaves the line (released: being admitted). */
  advance(): void {
    this.#head++;
  }

  /** Moves the head past tickets already admitted (a restart finds the released ones at the front); the new head. */
  skipAdmitted(): Place | undefined {
    let place = this.head();
    for (; place?.ticket.status === "admitted"; place = this.head()) this.#head++;
    return place;
  }

  /** A released ticket now shows admitted. */
  admit(place: Place, claimId: string): void {
    if (place.ticket.status === "admitted") return;
    place.ticket.status = "admitted";
    place.ticket.claimId = claimId;
    this.#waiting--;
    this.#admitted++;
  }

  /** 1-based among the tickets still in line; null before the seal or once admitted. */
  position(place: Place): number | null {
    if (!this.#sealed || place.ticket.status === "admitted" || place.index < 0) return null;
    return Math.max(1, place.index - this.#head + 1);
  }

  /** The pre-queue's drawValues in draw order, `size` at a time (sealed lines only). */
  *drawPages(size: number): Generator<string[]> {
    const run = this.#prequeue;
    for (let i = 0; i < run.length; i += size)
      yield run.slice(i, i + size).map((place) => place.ticket.drawValue ?? "");
  }
}
